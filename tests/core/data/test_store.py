"""Atomic writes, Parquet metadata, schema migration on read, and the Arrow ↔ numpy helpers."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from avgzsl.data.authors import import_authors_root
from avgzsl.data.schemas import SCHEMA_VERSION, SCHEMA_VERSION_KEY
from avgzsl.data.store import (
    arrow_to_vectors, atomic_path, atomic_write, file_metadata, is_temp, read_features, read_parquet, table_metadata,
    temp_path, vectors_to_arrow, write_json_atomic, write_parquet_atomic,
)
from avgzsl.data.validate import DataError
from tests.helpers.data import esc


def test_parquet_round_trip_keeps_schema_and_merges_metadata(tiny_root, tmp_path):
    features = import_authors_root(tiny_root, "ucf").features
    features = features.replace_schema_metadata({"origin": "authors", "keep": "yes"})
    path = tmp_path / "deep" / "er" / "features.parquet"
    write_parquet_atomic(features, path, {"origin": "synthetic", "dataset": "ucf"})
    loaded = read_parquet(path)
    assert loaded.schema.remove_metadata() == features.schema.remove_metadata()
    assert loaded.schema.field("visual").type.list_size == 512
    assert table_metadata(loaded) == {"origin": "synthetic", "keep": "yes", "dataset": "ucf"}
    assert file_metadata(path) == table_metadata(loaded)
    np.testing.assert_array_equal(arrow_to_vectors(loaded.column("audio")), arrow_to_vectors(features.column("audio")))
    assert [p.name for p in path.parent.iterdir()] == ["features.parquet"]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.json"
    write_json_atomic({"a": 1}, path)
    with pytest.raises(RuntimeError), atomic_write(path) as out:
        out.write(b"partial")
        raise RuntimeError("interrupted")
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_json_handles_numpy_and_paths(tmp_path):
    write_json_atomic({"n": np.int64(3), "x": np.float32(0.5), "v": np.arange(2), "p": tmp_path}, tmp_path / "s.json")
    assert json.loads((tmp_path / "s.json").read_text()) == {"n": 3, "x": 0.5, "v": [0, 1], "p": str(tmp_path)}


def test_read_parquet_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match=f"Parquet table not found: {esc(tmp_path / 'absent.parquet')}"):
        read_parquet(tmp_path / "absent.parquet")
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet")
    with pytest.raises(DataError, match=f"{esc(garbage)}: not a readable Parquet file"):
        read_parquet(garbage)


def test_bytes_damaged_inside_a_written_table_are_an_error_naming_it_not_wrong_numbers(tmp_path):
    from avgzsl.doctor import parquet_problem

    path = write_parquet_atomic(pa.table({"vector": np.arange(50_000, dtype=np.float64)}), tmp_path / "f.parquet")
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)  # the file's frame intact, a page's values changed
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=f"{esc(path)}: not a readable Parquet file .*CRC"):
        read_parquet(path)
    assert "CRC" in parquet_problem(path)  # `avgzsl doctor` finds it too


def test_vectors_are_zero_copy_for_one_chunk():
    matrix = np.arange(12, dtype=np.float32).reshape(4, 3)
    column = vectors_to_arrow(matrix)
    back = arrow_to_vectors(pa.chunked_array([column]))
    np.testing.assert_array_equal(back, matrix)
    assert not back.flags.owndata
    sliced = arrow_to_vectors(column.slice(1, 2))
    np.testing.assert_array_equal(sliced, matrix[1:3])
    two_chunks = arrow_to_vectors(pa.chunked_array([column, column]))
    assert two_chunks.shape == (8, 3)


def test_temporary_names_keep_the_suffix_and_a_failed_block_leaves_nothing(tmp_path):
    final = tmp_path / "table.parquet"
    temp = temp_path(final)
    assert temp.parent == final.parent and temp.suffix == ".parquet" and is_temp(temp) and not is_temp(final)
    with pytest.raises(ValueError), atomic_path(final) as path:
        path.write_bytes(b"half")
        raise ValueError("writer crashed")
    assert list(tmp_path.iterdir()) == []


def test_read_features_migrates_version_1_tables_and_refuses_newer_ones(tiny_root, tmp_path):
    features = import_authors_root(tiny_root, "ucf").features
    old = features.rename_columns(["video" if n == "visual" else n for n in features.column_names])
    old = old.replace_schema_metadata({"origin": "authors"})  # version 1: no version key
    write_parquet_atomic(old, tmp_path / "v1.parquet")
    migrated = read_features(tmp_path / "v1.parquet")
    assert migrated.column_names == ["video_id", "class_name", "split", "visual", "audio"]
    np.testing.assert_array_equal(arrow_to_vectors(migrated.column("visual")),
                                  arrow_to_vectors(features.column("visual")))

    write_parquet_atomic(features, tmp_path / "v2.parquet")
    assert file_metadata(tmp_path / "v2.parquet")[SCHEMA_VERSION_KEY] == SCHEMA_VERSION
    assert read_features(tmp_path / "v2.parquet").column_names == features.column_names

    write_parquet_atomic(features, tmp_path / "v9.parquet", {SCHEMA_VERSION_KEY: "9"})
    with pytest.raises(DataError, match=f"{esc(tmp_path / 'v9.parquet')}: schema version 9 is newer"):
        read_features(tmp_path / "v9.parquet")
