"""Decoder worker processes and the ffmpeg backend around them: crashes, hangs, fallbacks, cores, GPU."""
from __future__ import annotations

import os
import shutil
import sys
import time

import pytest

from avgzsl.media import extract as extract_mod
from avgzsl.media import split as split_mod
from avgzsl.media.extract import _Job, build_batch_argv, resolve_hwaccel
from avgzsl.media.probe import probe
from avgzsl.media.split import SplitRequest, SplitResult, plan_workers, split_videos
from avgzsl.media.store import MediaStore
from avgzsl.media.workers import DecoderWorker, WorkerError

from tests.helpers.media import descendants, needs_ffmpeg, temp_files

pytestmark = needs_ffmpeg

# A worker that misbehaves on purpose for inputs named crash* / hang*, and decodes the rest.
FAKE = r"""
import json, os, signal, sys, time
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    name = os.path.basename(job["path"])
    if name.startswith("crash"):
        os.kill(os.getpid(), signal.SIGSEGV)
    if name.startswith("hang"):
        time.sleep(600)
    from avgzsl.media.decode import DecodeJob, run_job
    job["segment"] = tuple(job["segment"]) if job.get("segment") else None
    print(json.dumps(run_job(DecodeJob(**job))), flush=True)
"""


@pytest.fixture
def inputs(media_corpus, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "crash", "b", "hang", "c"):
        shutil.copy(media_corpus["mp4"], folder / f"{name}.mp4")
    return folder


def test_a_crash_or_a_hang_costs_one_row_not_the_run(inputs, tmp_path, monkeypatch):
    monkeypatch.setattr(split_mod, "DecoderWorker", lambda: DecoderWorker([sys.executable, "-c", FAKE]))
    store = MediaStore(tmp_path / "store")
    before = set(descendants(os.getpid()))  # other tests' session servers may be running
    t0 = time.monotonic()
    res = {r.video_id: r for r in split_videos([SplitRequest(p.stem, p) for p in sorted(inputs.iterdir())], store,
                                               backend="pyav", max_workers=1, timeout_s=3)}
    assert time.monotonic() - t0 < 30
    assert {k: r.status for k, r in res.items()} == {"a": "ok", "b": "ok", "c": "ok", "crash": "failed",
                                                      "hang": "failed"}
    assert res["crash"].reason.startswith("decoder process killed by SIGSEGV")
    assert res["hang"].reason == "decoding timed out after 3s"
    assert temp_files(store.root) == [] and set(descendants(os.getpid())) <= before


def test_no_worker_falls_back_to_ffmpeg(media_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(split_mod, "DecoderWorker", lambda: DecoderWorker([sys.executable, "-c", "raise SystemExit(3)"]))
    res = split_videos([SplitRequest(k, media_corpus[k]) for k in ("mp4", "avi")], MediaStore(tmp_path / "s"))
    assert [(r.status, r.decoder) for r in res] == [("ok", "ffmpeg"), ("ok", "ffmpeg")]


def test_worker_answers_and_closes(media_corpus, tmp_path):
    with DecoderWorker() as worker:
        reply = worker.call({"path": str(media_corpus["noaudio"]), "frame_out": [str(tmp_path / "f.png")],
                             "audio_out": str(tmp_path / "a.wav")}, 60)
        pid = worker.pid
    assert reply["has_audio"] is False and reply["audio_samples"] == 0 and (tmp_path / "f.png").stat().st_size
    assert pid not in descendants(os.getpid())
    with pytest.raises(WorkerError, match="did not start"):
        DecoderWorker([sys.executable, "-c", "print('hello')"]).call({}, 5)


def test_plan_workers_uses_every_core():
    assert plan_workers(42, 2) == (2, 1)  # two processes, one decoder thread each
    assert plan_workers(3, 16) == (3, 5)  # fewer videos than cores: threads per video
    assert plan_workers(1, 2) == (1, 2)
    assert plan_workers(42, 16, max_workers=4, decoder_threads=1) == (4, 1)
    assert plan_workers(0, 4) == (1, 4) and plan_workers(5, 4, decoder_threads=None) == (4, None)


# -------------------------------------------------------------------- GPU (not present here)
@pytest.fixture
def hw(monkeypatch):
    state: dict = {}
    monkeypatch.setattr(extract_mod, "_HW", state)
    return state


def test_hwaccel_only_with_a_gpu_and_an_ffmpeg_that_has_cuda(hw):
    hw.update(gpu=False, hwaccels=frozenset({"cuda", "vaapi"}))
    assert resolve_hwaccel("auto") is None and resolve_hwaccel("none") is None
    hw["gpu"] = True
    assert resolve_hwaccel("auto") == "cuda" and resolve_hwaccel("cuda") == "cuda"
    hw["hwaccels"] = frozenset({"vaapi"})
    assert resolve_hwaccel("auto") is None
    with pytest.raises(ValueError, match="hwaccel"):
        resolve_hwaccel("metal")


def test_the_cuda_command(media_corpus, tmp_path):
    info = probe(media_corpus["mp4"])
    job = _Job(SplitResult("v", "failed"), media_corpus["mp4"], info, [1.48], [tmp_path / "f.png"],
               tmp_path / "a.wav", hwaccel="cuda")
    job.new_temps()
    argv = build_batch_argv([job], 48000, 1)
    job.drop_temps()
    first_input = argv.index("-i")
    assert argv[argv.index("-hwaccel") + 1] == "cuda" and argv.index("-hwaccel") < first_input
    assert argv.count("-hwaccel") == 1  # frames only: audio never goes to the GPU
    assert any("format=yuv420p" in a for a in argv)  # NV12 back to the software path's pixel format


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="a real GPU would decode instead of failing")
def test_a_failing_gpu_falls_back_to_software(media_corpus, tmp_path, hw):
    if "cuda" not in extract_mod.ffmpeg_hwaccels():
        pytest.skip("this ffmpeg has no cuda hwaccel")
    hw["gpu"] = True  # pretend: ffmpeg then fails to create the CUDA device
    store = MediaStore(tmp_path / "store")
    res = split_videos([SplitRequest(k, media_corpus[k]) for k in ("mp4", "mkv", "avi")], store, backend="ffmpeg")
    assert [(r.status, r.decoder) for r in res] == [("ok", "ffmpeg")] * 3
    assert hw.get("disabled") and resolve_hwaccel("auto") is None  # not tried again in this process
    assert temp_files(store.root) == []


def test_gpu_present_says_no_here(hw):
    if shutil.which("nvidia-smi"):
        pytest.skip("a GPU machine")
    assert extract_mod.gpu_present() is False


def test_shards_split_at_once_share_the_cores():
    from avgzsl.media.shards import MediaSettings
    from avgzsl.runtime import available_cores

    assert MediaSettings().split_cores() == available_cores()
    assert MediaSettings(shards_at_once=available_cores() * 2).split_cores() == 1
