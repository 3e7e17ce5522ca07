"""One shard's visual features with the tiny CLIP: the mean of a video's frames, failures counted, reruns skipped."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from avgzsl.data.store import file_metadata
from avgzsl.encoders import build_visual_encoder
from avgzsl.encoders.base import LazyEncoder, encoder_identity
from avgzsl.features.shards import encode_visual_shard, frames_of_policy
from avgzsl.features.tables import read_vectors


@pytest.fixture(scope="module")
def encoder(tiny_visual_spec):
    return build_visual_encoder(tiny_visual_spec())


def lazy(spec, built=None) -> LazyEncoder:
    """The tiny encoder behind a LazyEncoder that counts its builds."""
    counter = {"builds": 0}

    def build():
        counter["builds"] += 1
        return built or build_visual_encoder(spec)

    out = LazyEncoder(encoder_identity(spec, "open_clip"), build)
    out.builds = counter
    return out


def _frames(folder, name, n, seed):
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = folder / f"{name}_{i}.png"
        Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


def test_visual_shard_means_each_videos_frames_and_skips_an_unchanged_rerun(encoder, tiny_visual_spec, tmp_path):
    frames = {v: _frames(tmp_path, v, 3, seed) for seed, v in enumerate(("a", "b", "c"))}
    (tmp_path / "c_1.png").write_bytes(b"not a png")  # one broken frame: video c fails, a and b do not
    rows = [{"video_id": v, "status": "ok", "input_sha256": v * 8, "frame_paths": frames[v]} for v in frames]
    rows.append({"video_id": "d", "status": "failed", "input_sha256": None, "frame_paths": None})
    out = tmp_path / "features" / "visual" / "demo-0000.parquet"

    first = encode_visual_shard(lazy(tiny_visual_spec(), encoder), rows, out)
    assert (first.encoded, first.skipped) == (2, False)
    assert [vid for vid, _ in first.failed] == ["c"] and "c_1.png" in first.failed[0][1]
    ids, matrix, meta = read_vectors([out])
    assert ids == ["a", "b"] and meta["frame_policy"] == "mean of 3 evenly spaced frames"
    mean = encoder.encode_files(frames["a"]).mean(0)
    np.testing.assert_allclose(matrix[0], mean / np.linalg.norm(mean), atol=1e-5)
    assert meta["weights"] == "random" and meta["model_name"] == encoder.info.model_name

    rerun = lazy(tiny_visual_spec(), encoder)
    again = encode_visual_shard(rerun, rows, out)
    assert again.skipped and rerun.builds["builds"] == 0  # decided from the spec: no encoder built
    stamp = file_metadata(out)
    rows[0] = {**rows[0], "input_sha256": "changed"}
    changed = lazy(tiny_visual_spec(), encoder)
    assert not encode_visual_shard(changed, rows, out).skipped and changed.builds["builds"] == 1
    assert file_metadata(out) != stamp
    other_weights = lazy(tiny_visual_spec(seed=7), encoder)
    assert not encode_visual_shard(other_weights, rows, out).skipped  # another encoder: recomputed


def test_frame_policy_and_segment_are_recorded_and_redo_the_features(encoder, tiny_visual_spec, tmp_path):
    enc = lazy(tiny_visual_spec(), encoder)
    frames = {v: _frames(tmp_path, v, 1, seed) for seed, v in enumerate(("a", "b"))}
    rows = [{"video_id": v, "status": "ok", "input_sha256": v * 8, "frame_paths": frames[v]} for v in frames]
    out = tmp_path / "visual.parquet"
    assert not encode_visual_shard(enc, rows, out).skipped
    assert read_vectors([out])[2]["frame_policy"] == "middle frame"  # older ledgers (no column): exact
    exact = [{**r, "frame_policy": "exact", "start_seconds": None, "end_seconds": None} for r in rows]
    assert encode_visual_shard(enc, exact, out).skipped  # the same frames, the same file
    keyframe = [{**r, "frame_policy": "keyframe"} for r in exact]
    assert not encode_visual_shard(enc, keyframe, out).skipped
    assert read_vectors([out])[2]["frame_policy"] == "middle frame, frame policy keyframe"
    cut = [{**r, "start_seconds": 1.0, "end_seconds": 4.0} for r in keyframe]
    assert not encode_visual_shard(enc, cut, out).skipped  # same paths, another segment: redone
    assert encode_visual_shard(enc, cut, out).skipped


def test_a_recorded_frame_policy_reads_back_as_frames_and_split_policy():
    assert frames_of_policy("middle frame") == (1, "exact")
    assert frames_of_policy("mean of 3 evenly spaced frames") == (3, "exact")
    assert frames_of_policy("middle frame, frame policy keyframe") == (1, "keyframe")
    with pytest.raises(ValueError, match="unknown frame policy"):
        frames_of_policy("middle frame, frame policy nearest")
