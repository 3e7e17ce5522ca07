"""Splitting real videos into the middle frame (or N frames) and mono PCM audio: PyAV workers and batched ffmpeg."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from avgzsl.media import extract as extract_mod
from avgzsl.media import split as split_mod
from avgzsl.media.ledger import read_ledger, summarize
from avgzsl.media.probe import MediaInfo
from avgzsl.media.split import SplitRequest, build_batch_argv, frame_times, split_videos
from avgzsl.media.store import MediaStore

from tests.helpers.media import (files_under, frame_index, ledger_file, n_video_frames, needs_ffmpeg, temp_files,
                                 wav_info)

pytestmark = needs_ffmpeg
GOOD = ["avi", "mp4", "webm", "mkv", "short", "noaudio"]
BAD = {
    "audioonly": "no video stream",
    "empty": "empty file (0 bytes)",
    "random": "Invalid data found when processing input",
    "truncated": "moov atom not found",
    "partial": "no video frame decoded",
}
ODD = {"-rf x": "mp4", "../x y": "avi"}


@pytest.fixture(scope="module", params=["pyav", "ffmpeg"])
def first_run(media_corpus, tmp_path_factory, request):
    """Both backends on the same corpus: the same statuses, frames and audio."""
    work = tmp_path_factory.mktemp(f"split_{request.param}")
    store = MediaStore(work / "store")
    cwd = work / "cwd" / "deep"
    cwd.mkdir(parents=True)
    reqs = [SplitRequest(n, media_corpus[n]) for n in list(BAD) + GOOD]  # bad files share batches
    reqs += [SplitRequest(vid, media_corpus[kind]) for vid, kind in ODD.items()]
    corpus_before = files_under(media_corpus["mp4"].parent)
    old = os.getcwd()
    os.chdir(cwd)  # relative ids such as '../x y' must not land next to the cwd either
    try:
        t0 = time.perf_counter()
        res = split_videos(reqs, store, batch_size=4, max_workers=2, ledger_path=ledger_file(store, "split"),
                           backend=request.param)
        took = time.perf_counter() - t0
    finally:
        os.chdir(old)
    assert files_under(media_corpus["mp4"].parent) == corpus_before
    return store, reqs, {r.video_id: r for r in res}, took, work


def test_statuses_and_reasons(first_run):
    store, reqs, res, *_ = first_run
    assert list(res) == [r.video_id for r in reqs]
    for name, needle in BAD.items():
        assert res[name].status == "failed", name
        assert needle in res[name].reason, (name, res[name].reason)
        assert res[name].frame_paths == [] and res[name].audio_path is None
    for vid in GOOD + list(ODD):
        assert res[vid].status == "ok", (vid, res[vid].reason)
    assert res["noaudio"].has_audio is False and res["noaudio"].reason == "no audio stream"
    assert res["noaudio"].audio_path is None
    assert {r.decoder for r in res.values() if r.status == "ok"} == {store_backend(first_run)}
    s = summarize(res.values())
    assert (s["ok"], s["failed"], s["skipped"]) == (len(GOOD) + len(ODD), len(BAD), 0)


@pytest.mark.parametrize("name", GOOD + list(ODD))
def test_middle_frame_is_the_middle_one(first_run, media_corpus, name):
    _, _, res, *_ = first_run
    src = media_corpus[ODD.get(name, name)]
    (png,) = res[name].frame_paths
    assert frame_index(png) == n_video_frames(src) // 2


@pytest.mark.parametrize("name", ["avi", "mp4", "webm", "mkv", "short", "-rf x"])
def test_audio_is_mono_pcm16_at_48k_with_the_right_length(first_run, media_corpus, name):
    _, _, res, *_ = first_run
    r = res[name]
    assert r.has_audio is True
    ch, rate, width, secs = wav_info(r.audio_path)
    assert (ch, rate, width) == (1, 48000, 2)
    expected = 0.5 if name == "short" else 3.0
    assert secs == pytest.approx(expected, rel=0.02, abs=0.025)  # AAC pads to 1024-sample frames


def test_outputs_land_inside_the_store_only(first_run):
    store, _, res, _, work = first_run
    assert files_under(work) and all(store.root in p.parents for p in files_under(work))
    assert temp_files(store.root) == []
    for r in res.values():
        for p in r.frame_paths + ([r.audio_path] if r.audio_path else []):
            assert store.root in Path(p).parents
    assert sorted(p.name for p in work.iterdir()) == ["cwd", "store"]


def store_backend(run) -> str:
    return "pyav" if "pyav" in run[4].name else "ffmpeg"


def test_ledger_written(first_run):
    store, reqs, res, *_ = first_run
    rows = {r["video_id"]: r for r in read_ledger(ledger_file(store, "split"))}
    assert set(rows) == set(res)
    assert rows["mp4"]["input_sha256"] == res["mp4"].input_sha256 and rows["mp4"]["sample_rate"] == 48000
    assert (rows["mp4"]["frame_policy"], rows["mp4"]["start_seconds"], rows["mp4"]["end_seconds"]) == (
        "exact", None, None)
    assert rows["mp4"]["decoder"] == store_backend(first_run)


@pytest.mark.parametrize("backend", ["pyav", "ffmpeg"])
def test_n_frames_and_16k(media_corpus, tmp_path, backend):
    store = MediaStore(tmp_path / "store")
    reqs = [SplitRequest(k, media_corpus[k]) for k in ("mp4", "mkv", "webm")]
    for r in split_videos(reqs, store, sample_rate=16000, n_frames=3, probe_method="ffprobe", backend=backend):
        assert r.status == "ok" and len(r.frame_paths) == 3
        n = n_video_frames(media_corpus[r.video_id])
        assert [frame_index(p) for p in r.frame_paths] == [int((k + 0.5) * n / 3) for k in range(3)]
        ch, rate, _, secs = wav_info(r.audio_path)
        assert (ch, rate) == (1, 16000) and secs == pytest.approx(3.0, rel=0.02)
        assert "/audio/16000/" in r.audio_path and "/frames/n3/" in r.frame_paths[0]


def test_rerun_skips_and_changed_input_is_redone(media_corpus, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for k in ("avi", "mp4", "webm", "random"):
        shutil.copy(media_corpus[k], inputs / media_corpus[k].name)
    store = MediaStore(tmp_path / "store")
    ledger = ledger_file(store, "split")
    reqs = [SplitRequest(k, inputs / media_corpus[k].name) for k in ("avi", "mp4", "webm", "random")]
    first = split_videos(reqs, store, ledger_path=ledger)
    assert [r.status for r in first] == ["ok", "ok", "ok", "failed"]
    old_audio = first[1].audio_path

    t0 = time.perf_counter()
    again = split_videos(reqs, store, ledger_path=ledger)
    assert time.perf_counter() - t0 < 2.0
    assert [r.status for r in again] == ["skipped", "skipped", "skipped", "failed"]
    assert again[1].frame_paths == first[1].frame_paths and again[1].audio_path == old_audio

    shutil.copy(media_corpus["noaudio"], inputs / media_corpus["mp4"].name)  # mp4 changes
    third = split_videos(reqs, store, ledger_path=ledger)
    assert [r.status for r in third] == ["skipped", "ok", "skipped", "failed"]
    assert third[1].has_audio is False and third[1].input_sha256 != first[1].input_sha256
    assert not Path(old_audio).exists()  # the stale track of the old input is gone
    rows = {r["video_id"]: r for r in read_ledger(ledger)}
    assert rows["mp4"]["has_audio"] is False and rows["avi"]["status"] == "skipped"

    # other settings are other outputs: nothing is skipped at 16 kHz, nor under another policy or segment
    assert {r.status for r in split_videos(reqs[:3], store, sample_rate=16000, ledger_path=ledger)} == {"ok"}
    keyframes = split_videos(reqs[:3], store, sample_rate=16000, frame_policy="keyframe", ledger_path=ledger)
    assert {r.status for r in keyframes} == {"ok"} and "/frames/n1-keyframe/" in keyframes[0].frame_paths[0]
    assert Path(third[0].frame_paths[0]).exists()  # the exact frames stay where they were
    cut = [SplitRequest(r.video_id, r.path, 0.5, 2.0) for r in reqs[:3]]
    assert {r.status for r in split_videos(cut, store, sample_rate=16000, frame_policy="keyframe",
                                           ledger_path=ledger)} == {"ok"}
    assert {r.status for r in split_videos(cut, store, sample_rate=16000, frame_policy="keyframe",
                                           ledger_path=ledger)} == {"skipped"}


def test_a_failing_batch_is_bisected(media_corpus, tmp_path, monkeypatch):
    """ffmpeg itself fails for a batch holding the poisoned job: the others still succeed."""
    real = extract_mod.build_batch_argv
    poisoned = str(media_corpus["webm"])

    def poisoning(jobs, *a, **k):
        argv = real(jobs, *a, **k)
        if any(str(j.path) == poisoned for j in jobs):
            argv = argv[:1] + ["-map", "99:v"] + argv[1:]  # ffmpeg: invalid input file index
        return argv

    calls = []
    monkeypatch.setattr(extract_mod, "build_batch_argv", lambda jobs, *a, **k: calls.append(len(jobs)) or poisoning(jobs, *a, **k))
    store = MediaStore(tmp_path / "store")
    reqs = [SplitRequest(k, media_corpus[k]) for k in ("avi", "mp4", "webm", "mkv", "short")]
    res = {r.video_id: r for r in split_videos(reqs, store, batch_size=8, max_workers=1, backend="ffmpeg")}
    assert res["webm"].status == "failed" and "input file" in res["webm"].reason.lower()
    assert all(res[k].status == "ok" for k in ("avi", "mp4", "mkv", "short"))
    assert calls[0] == 5 and len(calls) < 2 * 5 and temp_files(store.root) == []


def test_duplicate_and_missing_inputs(media_corpus, tmp_path):
    store = MediaStore(tmp_path / "store")
    res = split_videos([("a", media_corpus["mp4"]), ("a", media_corpus["avi"]), ("b", tmp_path / "nope.mp4"),
                        ("c", media_corpus["mp4"])], store, ledger_path=ledger_file(store, "split"))
    assert [r.status for r in res] == ["ok", "failed", "failed", "ok"]
    assert res[1].reason == "duplicate video_id in this run" and res[2].reason == "input not found"
    assert res[3].frame_paths != res[0].frame_paths  # one file under two ids: two sets of outputs
    assert open(res[3].audio_path, "rb").read() == open(res[0].audio_path, "rb").read()
    assert [r["status"] for r in read_ledger(ledger_file(store, "split"))] == ["ok", "failed", "ok"]


def test_pixel_budget_splits_batches(tmp_path):
    def job(w, h, n=1):
        info = MediaInfo(duration_s=1.0, has_video=True, has_audio=False, width=w, height=h)
        return extract_mod._Job(split_mod.SplitResult("x", "failed"), tmp_path, info, [0.0] * n, [], None)

    jobs = [job(640, 360), job(640, 360), job(1920, 1080), job(320, 240, 3), job(None, None)]
    sizes = [len(c) for c in extract_mod.pixel_chunks(jobs, 2 * 640 * 360)]
    assert sizes == [2, 1, 2] and sum(sizes) == len(jobs)


def test_frame_times():
    info = MediaInfo(duration_s=10.0, has_video=True, has_audio=True, fps=25.0)
    assert frame_times(info) == pytest.approx([4.98])
    assert frame_times(info, 4) == pytest.approx([1.23, 3.73, 6.23, 8.73])
    assert frame_times(MediaInfo(None, True, False)) == [0.0]


def test_batch_argv_groups_frames_before_audio(tmp_path):
    store = MediaStore(tmp_path)
    info = MediaInfo(duration_s=10.0, has_video=True, has_audio=True, fps=25.0)
    jobs = []
    for vid in ("-a", "b"):
        j = extract_mod._Job(split_mod.SplitResult(vid, "failed"), tmp_path / f"{vid}.mp4", info, [4.98],
                           store.frame_paths(vid), store.audio_path(vid))
        j.new_temps()
        jobs.append(j)
    argv = build_batch_argv(jobs, 48000, decoder_threads=1)
    outs = [a for a in argv if a.startswith("file:") and a.endswith((".png", ".wav"))]
    assert [o[-4:] for o in outs] == [".png", ".png", ".wav", ".wav"]
    ins = [argv[i + 1] for i, a in enumerate(argv) if a == "-i"]
    assert ins == ["file:" + str(tmp_path / "-a.mp4"), "file:" + str(tmp_path / "b.mp4")] * 2
    first_ss = argv.index("-ss")
    assert first_ss < argv.index("-i") and argv[first_ss + 1] == "4.980000"
    for j in jobs:
        j.drop_temps()
