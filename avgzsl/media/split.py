"""The splitting stage: each video's middle frame (or N evenly spaced frames) and its
audio track as mono 16-bit PCM at the encoder's rate, with a ledger row per video.

Speed comes from three things (numbers in ``benchmarks/README_media.md``):

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
frame, and is robust to the duration's rounding.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

import ffmpeg

from .ledger import SPLIT_SCHEMA, as_row, read_ledger, write_ledger
from .probe import FFMPEG, MediaError, MediaInfo, clean_reason, input_arg, probe, probe_many
from .store import MediaStore, commit, temp_path, unlink_quiet


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


def frame_times(info: MediaInfo, n_frames: int = 1) -> list[float]:
    """Seek positions (seconds from the file's start) of the ``n_frames`` frames."""
    d = info.media_duration_s
    if not d or d <= 0:
        if n_frames == 1:
            return [0.0]
        raise MediaError("duration unknown: cannot space frames")
    half = 0.5 * (info.frame_duration_s or 0.0)
    return [max(0.0, (k + 0.5) * d / n_frames - half) for k in range(n_frames)]


@dataclass(eq=False)
class _Job:
    result: SplitResult
    path: Path
    info: MediaInfo
    times: list[float]
    frame_final: list[Path]
    audio_final: Path | None
    audio_slot: Path | None = None  # the store's audio path, even when there is no audio
    frame_tmp: list[Path] = field(default_factory=list)
    audio_tmp: Path | None = None

    def new_temps(self) -> None:
        self.drop_temps()
        self.frame_tmp = [temp_path(p) for p in self.frame_final]
        self.audio_tmp = temp_path(self.audio_final) if self.audio_final else None

    def drop_temps(self) -> None:
        for p in self.frame_tmp + [self.audio_tmp]:
            unlink_quiet(p)
        self.frame_tmp, self.audio_tmp = [], None


def build_batch_argv(jobs: list[_Job], sample_rate: int, decoder_threads: int | None = None) -> list[str]:
    """One ffmpeg command for all jobs: every frame output first, then every audio output."""
    tkw = {} if decoder_threads is None else {"threads": int(decoder_threads)}
    outs = []
    for job in jobs:
        for t, tmp in zip(job.times, job.frame_tmp):
            src = ffmpeg.input(input_arg(job.path), ss=f"{t:.6f}", **tkw)
            outs.append(ffmpeg.output(src["v:0"], "file:" + str(tmp), f="image2", update=1,
                                      vframes=1, pix_fmt="rgb24", **{"c:v": "png"}))
    for job in jobs:
        if job.audio_tmp is not None:
            src = ffmpeg.input(input_arg(job.path), **tkw)
            outs.append(ffmpeg.output(src["a:0"], "file:" + str(job.audio_tmp), f="wav", ac=1,
                                      ar=int(sample_rate), fflags="+bitexact", **{"c:a": "pcm_s16le"}))
    spec = ffmpeg.merge_outputs(*outs).global_args("-nostdin", "-hide_banner", "-loglevel", "error")
    return spec.overwrite_output().compile(cmd=FFMPEG)


def _wav_frames(path: Path) -> int:
    try:
        with wave.open(str(path), "rb") as w:
            return w.getnframes()
    except (wave.Error, EOFError, OSError):
        return -1


def _missing(job: _Job) -> str | None:
    """Why a job's outputs are not usable, or None."""
    for t, p in zip(job.times, job.frame_tmp):
        if not p.exists() or p.stat().st_size == 0:
            return f"no video frame decoded at t={t:.3f}s"
    if job.audio_tmp is not None and _wav_frames(job.audio_tmp) < 0:
        return "audio output missing or unreadable"
    return None


def _finish(job: _Job) -> None:
    r = job.result
    r.frame_paths = [str(commit(t, f)) for t, f in zip(job.frame_tmp, job.frame_final)]
    r.has_audio = False
    if job.audio_tmp is not None and _wav_frames(job.audio_tmp) > 0:
        r.audio_path = str(commit(job.audio_tmp, job.audio_final))
        r.has_audio = True
    else:
        r.reason = "no audio stream" if not job.info.has_audio else "audio stream has no samples"
        unlink_quiet(job.audio_slot)  # a stale track of an older version of this input
    job.frame_tmp, job.audio_tmp = [], None
    r.status = "ok"


def _run(jobs: list[_Job], sample_rate: int, decoder_threads, timeout_s: float) -> tuple[bool, str]:
    for j in jobs:
        j.new_temps()
    argv = build_batch_argv(jobs, sample_rate, decoder_threads)
    limit = timeout_s * len(jobs)
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=limit)
    except subprocess.TimeoutExpired:
        return False, f"ffmpeg timed out after {limit:g}s"
    paths = tuple(input_arg(j.path) for j in jobs)
    return r.returncode == 0, clean_reason(r.stderr.decode("utf-8", "replace"), paths, empty="")


def _extract(jobs: list[_Job], sample_rate: int, decoder_threads, timeout_s: float) -> None:
    """Run ``jobs`` in one process; bisect on failure until the culprit is alone."""
    if not jobs:
        return
    ok, reason = _run(jobs, sample_rate, decoder_threads, timeout_s)
    bad = [j for j in jobs if not ok or _missing(j)]
    for j in jobs:
        if j not in bad:
            _finish(j)
    if not bad:
        return
    if len(jobs) > 1:
        for j in bad:
            j.drop_temps()
        half = (len(bad) + 1) // 2
        _extract(bad[:half], sample_rate, decoder_threads, timeout_s)
        _extract(bad[half:], sample_rate, decoder_threads, timeout_s)
        return
    job = bad[0]
    why = reason
    if ok:
        why = _missing(job) or "unknown error"
        if reason:
            why = f"{why} ({reason})"
    if ok and job.info.video_duration_s is None and why and why.startswith("no video frame"):
        # the batched probe gives the container's duration; a video stream shorter than
        # the audio may end before it.  ffprobe knows the stream's own duration: retry once.
        job.drop_temps()
        try:
            job.info = probe(job.path, timeout_s)
            job.times = frame_times(job.info, len(job.times))
        except MediaError as e:
            why = e.reason
        else:
            return _extract([job], sample_rate, decoder_threads, timeout_s)
    job.drop_temps()
    job.result.status, job.result.reason = "failed", why[:300] if why else "unknown error"


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


DEFAULT_BATCH_PIXELS = 16 * 640 * 360


def _pixel_chunks(jobs: list[_Job], budget: int) -> list[list[_Job]]:
    """Consecutive chunks whose frames hold at most ``budget`` pixels (>= 1 job each):
    an ffmpeg process keeps every seeked decoder until it exits, so its memory grows
    with the pixels per batch (~12 MB per 640x360 h264 video)."""
    chunks: list[list[_Job]] = []
    used = 0
    for j in jobs:
        cost = (j.info.width or 640) * (j.info.height or 360) * max(1, len(j.times))
        if chunks and used + cost <= budget:
            chunks[-1].append(j)
            used += cost
        else:
            chunks.append([j])
            used = cost
    return chunks


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
        for chunk in _pixel_chunks(jobs, max_batch_pixels):
            _extract(chunk, sample_rate, decoder_threads, timeout_s)
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
