"""The splitting stage: each video's middle frame (or N evenly spaced frames) and its
audio track as mono 16-bit PCM at the encoder's rate, with a ledger row per video.

Speed comes from three things (numbers in ``benchmarks/README.md``):

* seek instead of decode-all: each frame comes from an input opened with ``-ss t``
  (before ``-i``: the demuxer seeks to the keyframe before ``t`` and decodes from there);
* the decoder's output is resampled by ffmpeg itself (``-ac 1 -ar RATE``), no temp WAV
  and no Python resampling;
* ONE ffmpeg process per batch of videos (multiple inputs, multiple outputs), so the
  ~55 ms start-up of a process is paid once per batch.  Probing is batched the same way
  (:func:`avgzsl.media.probe.probe_many`).  All frame outputs come before all audio
  outputs: interleaving them per video doubles ffmpeg 5.1's CPU time.

A bad file never fails a batch: probe failures are excluded before it, and a batch
whose ffmpeg fails (or leaves an output missing) is split in halves and rerun until
the culprit is alone; its row says why.  A video whose previous ledger row is
ok/skipped, whose input hash, sample rate and frame count are unchanged and whose
outputs exist is 'skipped'.

Frame choice: for a clip of duration ``d`` and frame period ``p`` the k-th of ``N``
frames is the first frame at or after ``(k + 0.5) * d / N - p / 2``; for N = 1 and a
constant frame rate this is exactly ``frames[len(frames) // 2]``, the authors' middle
frame, and is robust to the duration's rounding.  With the default batched probe
``d`` is the container's duration (``probe_method="ffprobe"`` uses the video stream's
own, at ~55-70 ms more CPU per video); they differ when the audio outlasts the video.

This module decides what to do (skip, probe, batch, ledger); the ffmpeg runs are in
:mod:`avgzsl.media.extract`.
"""
from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

from .extract import DEFAULT_BATCH_PIXELS, build_batch_argv, extract_jobs, frame_times, pixel_chunks  # noqa: F401
from .extract import _Job
from .ledger import SPLIT_SCHEMA, as_row, read_ledger, write_ledger
from .probe import MediaError, probe_many
from .store import MediaStore


class SplitRequest(NamedTuple):
    video_id: str
    path: str | os.PathLike


@dataclass
class SplitResult:
    video_id: str
    status: str  # 'ok' | 'failed' | 'skipped'
    reason: str = ""
    frame_paths: list[str] = field(default_factory=list)
    audio_path: str | None = None
    duration_s: float | None = None
    has_audio: bool | None = None
    input_sha256: str | None = None
    input_path: str | None = None
    bytes: int | None = None
    sample_rate: int | None = None
    n_frames: int | None = None
    elapsed_s: float | None = None

    def to_row(self) -> dict:
        return {f: getattr(self, f) for f in SPLIT_SCHEMA.names}


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()

def _done(prev: dict | None, res: SplitResult, store: MediaStore, sample_rate: int, n_frames: int) -> bool:
    if not prev or prev.get("status") not in ("ok", "skipped"):
        return False
    if (prev.get("input_sha256"), prev.get("sample_rate"), prev.get("n_frames")) != (
        res.input_sha256, sample_rate, n_frames):
        return False
    frames = [str(p) for p in store.frame_paths(res.video_id, n_frames)]
    if list(prev.get("frame_paths") or []) != frames or not all(os.path.exists(p) for p in frames):
        return False
    if prev.get("has_audio"):
        audio = str(store.audio_path(res.video_id, sample_rate))
        if prev.get("audio_path") != audio or not os.path.exists(audio):
            return False
    return True

def _process_batch(batch: list[SplitResult], store: MediaStore, sample_rate: int, n_frames: int,
                   probe_method: str, decoder_threads, timeout_s: float, max_batch_pixels: int) -> None:
    t0 = time.perf_counter()
    try:
        _probe_and_extract(batch, store, sample_rate, n_frames, probe_method, decoder_threads, timeout_s,
                           max_batch_pixels)
    except Exception as e:  # a bug or an OS error must not lose the other batches' rows
        for res in batch:
            if res.status != "ok":
                res.status, res.reason = "failed", f"internal error: {type(e).__name__}: {e}"
    per = (time.perf_counter() - t0) / max(1, len(batch))
    for res in batch:
        res.elapsed_s = per


def _probe_and_extract(batch: list[SplitResult], store: MediaStore, sample_rate: int, n_frames: int,
                       probe_method: str, decoder_threads, timeout_s: float, max_batch_pixels: int) -> None:
    infos = probe_many([r.input_path for r in batch], method=probe_method, max_workers=1,
                       chunk_size=len(batch), timeout_s=timeout_s)
    jobs: list[_Job] = []
    for res, info in zip(batch, infos):
        if isinstance(info, MediaError):
            res.status, res.reason = "failed", info.reason
            continue
        res.duration_s = info.duration_s
        if not info.has_video:
            res.status, res.reason, res.has_audio = "failed", "no video stream", info.has_audio
            continue
        try:
            times = frame_times(info, n_frames)
        except MediaError as e:
            res.status, res.reason = "failed", e.reason
            continue
        slot = store.audio_path(res.video_id, sample_rate)
        jobs.append(_Job(res, Path(res.input_path), info, times, store.frame_paths(res.video_id, n_frames),
                         slot if info.has_audio else None, slot))
    try:
        for chunk in pixel_chunks(jobs, max_batch_pixels):
            extract_jobs(chunk, sample_rate, decoder_threads, timeout_s)
    finally:
        for j in jobs:
            j.drop_temps()


def split_videos(
    requests: Iterable[SplitRequest | tuple],
    store: MediaStore,
    sample_rate: int = 48000,
    n_frames: int = 1,
    batch_size: int = 16,
    max_workers: int = 2,
    previous: Iterable | None = None,
    ledger_path: str | os.PathLike | None = None,
    probe_method: str = "ffmpeg",
    decoder_threads: int | None = 1,
    timeout_s: float = 60.0,
    max_batch_pixels: int = DEFAULT_BATCH_PIXELS,
    on_result: Callable[[SplitResult], None] | None = None,
) -> list[SplitResult]:
    """Extract frames and audio of every request into ``store``; one result per request.

    ``previous``: earlier ledger rows (dicts or results) used to skip unchanged videos;
    when ``ledger_path`` is given they are read from it, and the merged ledger (this
    run's rows plus earlier rows of other videos) is written back to it.
    ``max_workers`` batches run concurrently (threads, one ffmpeg process each);
    ``decoder_threads`` is ffmpeg's ``-threads`` per input (None: ffmpeg's default).
    ``timeout_s`` bounds each ffmpeg/ffprobe run, per video in the batch.
    ``max_batch_pixels`` splits a batch further so that one ffmpeg process decodes at
    most that many frame pixels (default: 16 videos at 640x360, ~200 MB per process).
    """
    if n_frames < 1 or sample_rate < 1 or batch_size < 1:
        raise ValueError("n_frames, sample_rate and batch_size must be positive")
    reqs = [SplitRequest(*r) for r in requests]
    if previous is None and ledger_path is not None:
        previous = read_ledger(ledger_path)
    prev = {row["video_id"]: row for row in map(as_row, previous or [])}
    results: list[SplitResult] = []
    dups: set[int] = set()
    seen: set[str] = set()
    todo: list[SplitResult] = []
    for req in reqs:
        res = SplitResult(req.video_id, "failed", sample_rate=sample_rate, n_frames=n_frames)
        results.append(res)
        if not isinstance(req.video_id, str) or not req.video_id:
            res.reason = "empty video_id"
        elif req.video_id in seen:
            res.reason = "duplicate video_id in this run"
            dups.add(id(res))
        else:
            seen.add(req.video_id)
            res.input_path = os.path.abspath(os.fspath(req.path))
            todo.append(res)

    def fingerprint(res: SplitResult) -> SplitResult | None:
        try:
            res.bytes = os.path.getsize(res.input_path)
            res.input_sha256 = sha256_file(res.input_path)
        except OSError as e:
            res.reason = "input not found" if isinstance(e, FileNotFoundError) else f"cannot read input: {e.strerror}"
            return None
        p = prev.get(res.video_id)
        if _done(p, res, store, sample_rate, n_frames):
            res.status, res.reason = "skipped", "up to date"
            res.frame_paths = list(p["frame_paths"])
            res.audio_path, res.has_audio, res.duration_s = p.get("audio_path"), p.get("has_audio"), p.get("duration_s")
            return None
        return res

    workers = max(1, int(max_workers))
    with ThreadPoolExecutor(workers) as ex:
        todo = [r for r in ex.map(fingerprint, todo) if r is not None]
        batches = [todo[i: i + batch_size] for i in range(0, len(todo), batch_size)]
        futures = [ex.submit(_process_batch, b, store, sample_rate, n_frames, probe_method,
                             decoder_threads, timeout_s, max_batch_pixels) for b in batches]
        for fut in futures:
            fut.result()
    if on_result is not None:
        for res in results:
            on_result(res)
    if ledger_path is not None:
        mine = {r.video_id for r in results}
        rows = [r.to_row() for r in results if id(r) not in dups]
        rows += [p for v, p in prev.items() if v not in mine]
        write_ledger(rows, ledger_path, SPLIT_SCHEMA)
    return results
