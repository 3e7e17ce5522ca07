"""Atomic writes, Parquet metadata, and the Arrow ↔ numpy helpers."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from avgzsl.data.authors import import_authors_root
from avgzsl.data.store import (
    arrow_to_vectors, atomic_write, features_to_arrays, read_parquet, table_metadata, vectors_to_arrow,
    write_json_atomic, write_parquet_atomic,
)
from avgzsl.data.validate import DataError
from tests.core.data_fixtures import esc, tiny_root  # noqa: F401  (fixture)


def test_parquet_round_trip_keeps_schema_and_merges_metadata(tiny_root, tmp_path):
    features = import_authors_root(tiny_root, "ucf").features
    features = features.replace_schema_metadata({"origin": "authors", "keep": "yes"})
    path = tmp_path / "deep" / "er" / "features.parquet"
    write_parquet_atomic(features, path, {"origin": "synthetic", "dataset": "ucf"})
    loaded = read_parquet(path)
    assert loaded.schema.remove_metadata() == features.schema.remove_metadata()
    assert loaded.schema.field("video").type.list_size == 512
    assert table_metadata(loaded) == {"origin": "synthetic", "keep": "yes", "dataset": "ucf"}
    np.testing.assert_array_equal(features_to_arrays(loaded).audio, features_to_arrays(features).audio)
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
