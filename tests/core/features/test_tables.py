"""The dataset's tables from per-shard feature files: only videos with both vectors, ids by sorted class name."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from avgzsl.data.schemas import SCHEMA_VERSION, SCHEMA_VERSION_KEY
from avgzsl.data.store import arrow_to_vectors, read_features, table_metadata, vectors_to_arrow, write_parquet_atomic
from avgzsl.features.fingerprint import FINGERPRINT_KEY
from avgzsl.features.tables import assemble_features, classes_table, read_vectors


def _shard(path, ids, matrix, meta):
    table = pa.table({"video_id": ids, "vector": vectors_to_arrow(matrix)})
    write_parquet_atomic(table, path, metadata={**meta, FINGERPRINT_KEY: "abc"})
    return path


def test_read_vectors_concatenates_shards_skipping_missing_files(tmp_path):
    a = _shard(tmp_path / "a.parquet", ["v1", "v2"], np.eye(2, 3, dtype=np.float32), {"weights": "random"})
    b = _shard(tmp_path / "b.parquet", ["v3"], np.ones((1, 3), np.float32), {"weights": "random"})
    ids, matrix, meta = read_vectors([a, tmp_path / "missing.parquet", b])
    assert ids == ["v1", "v2", "v3"] and matrix.shape == (3, 3) and matrix.dtype == np.float32
    assert meta == {"weights": "random"}  # the fingerprint is the shard's own, not the table's
    assert read_vectors([tmp_path / "missing.parquet"])[0] == []


def test_read_vectors_reads_each_video_only_from_its_current_shard(tmp_path):
    """A shard file not yet recomputed after its videos moved (or left) never adds a second row for a video."""
    a = _shard(tmp_path / "a.parquet", ["v1", "v2"], np.eye(2, 3, dtype=np.float32), {})
    b = _shard(tmp_path / "b.parquet", ["v2", "v3"], np.ones((2, 3), np.float32), {})  # v2 moved from a to b
    ids, matrix, _ = read_vectors([a, b], members=[{"v1"}, {"v2", "v3"}])
    assert ids == ["v1", "v2", "v3"] and matrix.shape == (3, 3)
    np.testing.assert_array_equal(matrix[1], np.ones(3))


def test_assemble_features_keeps_the_videos_with_both_vectors_in_manifest_order(tmp_path):
    manifest = [{"video_id": v, "class_name": c, "split": "stage_1_train"}
                for v, c in (("v1", "b"), ("v2", "a"), ("v3", "a"), ("v4", "b"))]
    visual = (["v3", "v1", "v2"], np.arange(6, dtype=np.float32).reshape(3, 2), {"weights": "random"})
    audio = (["v1", "v3", "v4"], np.arange(9, dtype=np.float32).reshape(3, 3), {"weights": "pretrained"})
    out = tmp_path / "extracted" / "features.parquet"
    summary = assemble_features(manifest, visual, audio, out)
    assert (summary.path, summary.videos, summary.missing) == (out, 2, 2)
    assert (summary.weights("visual"), summary.weights("audio")) == ("random", "pretrained")
    table = read_features(out)
    assert table.column("video_id").to_pylist() == ["v1", "v3"]
    np.testing.assert_array_equal(arrow_to_vectors(table.column("visual")), [[2, 3], [0, 1]])
    np.testing.assert_array_equal(arrow_to_vectors(table.column("audio")), [[0, 1, 2], [3, 4, 5]])
    meta = table_metadata(table)
    assert (meta["visual.weights"], meta["audio.weights"], meta[SCHEMA_VERSION_KEY]) == ("random", "pretrained",
                                                                                       SCHEMA_VERSION)
    with pytest.raises(ValueError, match="no video has both"):
        assemble_features(manifest, (["v9"], np.ones((1, 2), np.float32), {}), audio, out)


def test_classes_table_numbers_classes_by_sorted_name():
    table = classes_table(["zebra", "ant"], ["Zebra", "Ant"], np.array([[1.0, 0], [0, 1]]), np.array([[1.0], [2.0]]))
    assert table.column("class_id").to_pylist() == [0, 1]
    assert table.column("class_name").to_pylist() == ["ant", "zebra"]
    assert table.column("readable_name").to_pylist() == ["Ant", "Zebra"]
    np.testing.assert_array_equal(arrow_to_vectors(table.column("clip_text")), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(arrow_to_vectors(table.column("clap_text")), [[2], [1]])
