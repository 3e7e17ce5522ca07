"""One shard's visual features with the tiny CLIP: the mean of a video's frames, failures counted, reruns skipped."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from avgzsl.data.store import file_metadata
from avgzsl.encoders import build_visual_encoder
from avgzsl.features.shards import encode_visual_shard
from avgzsl.features.tables import read_vectors


@pytest.fixture(scope="module")
def encoder(tiny_visual_spec):
    return build_visual_encoder(tiny_visual_spec())


def _frames(folder, name, n, seed):
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = folder / f"{name}_{i}.png"
        Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


def test_visual_shard_means_each_videos_frames_and_skips_an_unchanged_rerun(encoder, tmp_path):
    frames = {v: _frames(tmp_path, v, 3, seed) for seed, v in enumerate(("a", "b", "c"))}
    (tmp_path / "c_1.png").write_bytes(b"not a png")  # one broken frame: video c fails, a and b do not
    rows = [{"video_id": v, "status": "ok", "input_sha256": v * 8, "frame_paths": frames[v]} for v in frames]
    rows.append({"video_id": "d", "status": "failed", "input_sha256": None, "frame_paths": None})
    out = tmp_path / "features" / "visual" / "demo-0000.parquet"

    first = encode_visual_shard(encoder, rows, out)
    assert (first.encoded, first.skipped) == (2, False)
    assert [vid for vid, _ in first.failed] == ["c"] and "c_1.png" in first.failed[0][1]
    ids, matrix, meta = read_vectors([out])
    assert ids == ["a", "b"] and meta["frame_policy"] == "mean of 3 evenly spaced frames"
    mean = encoder.encode_images_from_paths(frames["a"]).mean(0)
    np.testing.assert_allclose(matrix[0], mean / np.linalg.norm(mean), atol=1e-5)
    assert meta["weights"] == "random" and meta["model_name"] == encoder.info.model_name

    again = encode_visual_shard(encoder, rows, out)
    assert again.skipped
    stamp = file_metadata(out)
    rows[0] = {**rows[0], "input_sha256": "changed"}
    assert not encode_visual_shard(encoder, rows, out).skipped
    assert file_metadata(out) != stamp


def test_frame_policy_and_segment_are_recorded_and_redo_the_features(encoder, tmp_path):
    frames = {v: _frames(tmp_path, v, 1, seed) for seed, v in enumerate(("a", "b"))}
    rows = [{"video_id": v, "status": "ok", "input_sha256": v * 8, "frame_paths": frames[v]} for v in frames]
    out = tmp_path / "visual.parquet"
    assert not encode_visual_shard(encoder, rows, out).skipped
    assert read_vectors([out])[2]["frame_policy"] == "middle frame"  # older ledgers (no column): exact
    exact = [{**r, "frame_policy": "exact", "start_seconds": None, "end_seconds": None} for r in rows]
    assert encode_visual_shard(encoder, exact, out).skipped  # the same frames, the same file
    keyframe = [{**r, "frame_policy": "keyframe"} for r in exact]
    assert not encode_visual_shard(encoder, keyframe, out).skipped
    assert read_vectors([out])[2]["frame_policy"] == "middle frame, frame policy keyframe"
    cut = [{**r, "start_seconds": 1.0, "end_seconds": 4.0} for r in keyframe]
    assert not encode_visual_shard(encoder, cut, out).skipped  # same paths, another segment: redone
    assert encode_visual_shard(encoder, cut, out).skipped
