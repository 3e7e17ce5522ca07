"""kill -9 of a process splitting realistic clips: its decoders die with it, and the rerun leaves no debris.

The split runs in a subprocess exactly as the media_split asset runs it (``split_shard``);
the test waits until decoder children are working and temporary outputs exist, kills the
process with SIGKILL, then checks that no child of it is left decoding and that a rerun
removes the temporary files the killed run left under the state folder's data.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from avgzsl.data.datasets import MANIFEST_COLUMNS, DatasetSpec
from avgzsl.layout import DatasetPaths
from avgzsl.media.ledger import read_ledger
from avgzsl.media.shards import MediaSettings, download_shard

from tests.helpers.media import HAVE_FFMPEG, descendants, ff, process_state, temp_files

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not HAVE_FFMPEG or sys.platform != "linux",
                                                   reason="needs ffmpeg and Linux (/proc, PR_SET_PDEATHSIG)")]
ROOT = Path(__file__).resolve().parents[2]
SPLIT = """
import sys
from avgzsl.data.datasets import DatasetSpec
from avgzsl.layout import DatasetPaths
from avgzsl.media.shards import MediaSettings, split_shard
spec = DatasetSpec.from_json(sys.argv[1])
split_shard(spec, DatasetPaths(__import__("pathlib").Path(sys.argv[2])), 0,
            MediaSettings(split_backend=sys.argv[3], split_batch_size=6))
"""


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """One realistic clip: 1280x720 h264 with temporal noise and one keyframe, 10 s, stereo AAC
    (a second or more to decode to the middle: a child is caught in the middle of its work)."""
    path = tmp_path_factory.mktemp("kill_clip") / "clip.mp4"
    ff("-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=10,noise=alls=15:allf=t", "-f", "lavfi", "-i",
       "sine=f=440:r=44100:d=10", "-c:v", "libx264", "-preset", "ultrafast", "-g", "1000", "-pix_fmt", "yuv420p",
       "-c:a", "aac", "-ac", "2", str(path))
    return path


def start_split(spec: DatasetSpec, paths: DatasetPaths, backend: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", SPLIT, spec.as_json(), str(paths.root), backend], env=env,
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.parametrize("backend", ["pyav", "ffmpeg"])
def test_kill_mid_split_then_rerun(tmp_path, clip, backend):
    videos = tmp_path / "videos"
    videos.mkdir()
    for i in range(8):
        shutil.copy(clip, videos / f"v{i}.mp4")
    paths = DatasetPaths(tmp_path / "state" / "data" / "kill")
    paths.root.mkdir(parents=True)
    pl.DataFrame({"video_id": [f"v{i}" for i in range(8)], "class_name": "c", "split": "stage_1_train",
                  "url": [(videos / f"v{i}.mp4").as_uri() for i in range(8)], "start_seconds": None,
                  "end_seconds": None, "shard": 0},
                 schema_overrides={"start_seconds": pl.Float64, "end_seconds": pl.Float64, "shard": pl.Int32}
                 ).select(MANIFEST_COLUMNS).write_parquet(paths.manifest)
    spec = DatasetSpec("kill", root=str(tmp_path), allowed_roots=(str(videos),)).validate()
    assert {r.status for r in download_shard(spec, paths, 0, MediaSettings())} == {"ok"}
    data = paths.root.parent

    proc = start_split(spec, paths, backend)
    children: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        children = descendants(proc.pid)
        if children and temp_files(data):
            break
        time.sleep(0.005)
    assert proc.poll() is None and children, "the split finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(1.0)  # the kernel kills them at once; a child left alone would still be decoding now
    assert [c for c in children if process_state(c)] == []  # no decoder of the killed run lives on
    assert temp_files(data), "the kill left no temporary file: nothing to clean up"

    rerun = start_split(spec, paths, backend)
    assert rerun.wait(timeout=300) == 0, rerun.stderr.read().decode()[-2000:]
    assert temp_files(data) == []
    rows = read_ledger(paths.ledger("split", "kill-0000"))
    assert len(rows) == 8 and {r["status"] for r in rows} <= {"ok", "skipped"}
