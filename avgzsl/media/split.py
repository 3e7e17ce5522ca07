"""The splitting stage: each video's middle frame (or N evenly spaced frames) and its
audio track as mono 16-bit PCM at the encoder's rate, with a ledger row per video.

Two backends (numbers in ``benchmarks/README.md``):

* ``pyav`` (``auto`` when PyAV is installed): decoder worker processes
  (:mod:`avgzsl.media.workers`), one video at a time each, one pass over the file
  (:mod:`avgzsl.media.decode`): no probe pass, only the frames the target needs
  (non-reference frames before it are skipped), the audio from the same pass.  Its
  frame is the authors' ``frames[len(frames) // 2]`` on every container tested;
* ``ffmpeg``: one ffmpeg process per batch of videos (:mod:`avgzsl.media.extract`),
  seeking with ``-ss``; with ``hwaccel`` it decodes on a GPU (``-hwaccel cuda``).  Used
  when asked for or when PyAV is missing.  Its batched probe knows the container's
  duration only, so where the audio track outlasts the video (common in webm), or in
  avi/webm timelines, it can take a frame one or more frames later than the authors'.

``frame_policy`` (:data:`avgzsl.names.FRAME_POLICIES`): ``exact`` is the authors'
``frames[len(frames) // 2]`` (:mod:`avgzsl.media.timeline`); ``keyframe`` takes the last
keyframe at or before it (one decoded frame).  A request may carry a segment
``[start, end)``: frames and audio come from it; one outside the media is a failed row.

Cores: ``max_workers=0`` runs as many workers as ``cores`` (default: this process's)
allow and there are videos; ``decoder_threads=0`` shares the cores left among them, so
a shard alone on the machine uses every core.

A bad file never fails the others: it is a failed row with the decoder's reason.  A
video whose previous ledger row is ok/skipped, whose input hash, sample rate, frame
count, frame policy and segment are unchanged and whose outputs exist is 'skipped'.
"""
from __future__ import annotations

import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

from avgzsl.data.store import sha256_file
from avgzsl.names import DEFAULT_FRAME_POLICY, FRAME_POLICIES
from avgzsl.runtime import available_cores

from .extract import DEFAULT_BATCH_PIXELS, _Job, build_batch_argv, extract_jobs, hw_decodable, job_times  # noqa: F401
from .extract import pixel_chunks, resolve_hwaccel
from .ledger import SPLIT_SCHEMA, as_row, read_ledger, write_ledger
from .probe import MediaError, probe_many
from .store import MediaStore, commit, temp_path, unlink_quiet
from .timeline import frame_times  # noqa: F401  (re-exported)
from .workers import DecoderWorker, WorkerError, WorkerStartError, pyav_available

BACKENDS = ("auto", "pyav", "ffmpeg")


class SplitRequest(NamedTuple):
    video_id: str
    path: str | os.PathLike
    start_seconds: float | None = None
    end_seconds: float | None = None
    sha256: str | None = None  # the file's hash when already known (the download ledger's): not hashed again


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
    frame_policy: str | None = None
    start_seconds: float | None = None
    end_seconds: float | None = None
    decoder: str | None = None
    audio_window_s: float | None = None  # not a ledger column: the centre of longer audio kept (audio_segment)

    @property
    def segment(self) -> tuple[float | None, float | None] | None:
        return None if self.start_seconds is None and self.end_seconds is None else (self.start_seconds,
                                                                                      self.end_seconds)

    def to_row(self) -> dict:
        return {f: getattr(self, f) for f in SPLIT_SCHEMA.names}


def _done(prev: dict | None, res: SplitResult, store: MediaStore) -> bool:
    if not prev or prev.get("status") not in ("ok", "skipped"):
        return False
    same = (prev.get("input_sha256"), prev.get("sample_rate"), prev.get("n_frames"),
            prev.get("frame_policy") or DEFAULT_FRAME_POLICY, prev.get("start_seconds"), prev.get("end_seconds"))
    if same != (res.input_sha256, res.sample_rate, res.n_frames, res.frame_policy, res.start_seconds,
                res.end_seconds):
        return False
    frames = [str(p) for p in store.frame_paths(res.video_id, res.n_frames, res.frame_policy)]
    if list(prev.get("frame_paths") or []) != frames or not all(os.path.exists(p) for p in frames):
        return False
    if prev.get("has_audio"):
        audio = str(store.audio_path(res.video_id, res.sample_rate))
        if prev.get("audio_path") != audio or not os.path.exists(audio):
            return False
    return True


def plan_workers(n_jobs: int, cores: int, max_workers: int = 0, decoder_threads: int | None = 0) -> tuple[int, int | None]:
    """(workers, decoder threads per video): every core busy, threads when videos are fewer than cores."""
    workers = max(1, min(max_workers or cores, n_jobs or 1))
    threads = decoder_threads if decoder_threads is None or decoder_threads > 0 else max(1, cores // workers)
    return workers, threads


# ------------------------------------------------------------------ pyav backend
def _decode_one(worker: DecoderWorker, res: SplitResult, store: MediaStore, timeout_s: float, threads: int) -> None:
    t0 = time.perf_counter()
    finals = store.frame_paths(res.video_id, res.n_frames, res.frame_policy)
    slot = store.audio_path(res.video_id, res.sample_rate)
    temps, audio_tmp = [temp_path(p) for p in finals], temp_path(slot)
    try:
        reply = worker.call({"path": res.input_path, "frame_out": [str(p) for p in temps],
                             "audio_out": str(audio_tmp), "sample_rate": res.sample_rate,
                             "policy": res.frame_policy, "segment": res.segment, "threads": threads,
                             "audio_window_s": res.audio_window_s}, timeout_s)
        res.duration_s, res.has_audio = reply.get("duration_s"), reply.get("has_audio")
        missing = next((p for p in temps if not p.exists() or p.stat().st_size == 0), None)
        if reply.get("error") or missing is not None:
            res.status, res.reason = "failed", (reply.get("error") or "frame output missing")[:300]
            return
        res.frame_paths = [str(commit(t, f)) for t, f in zip(temps, finals)]
        if reply.get("audio_samples", 0) > 0:
            res.audio_path, res.has_audio = str(commit(audio_tmp, slot)), True
        else:
            res.reason = "audio stream has no samples" if res.has_audio else "no audio stream"
            res.has_audio = False
            unlink_quiet(slot)  # a stale track of an older version of this input
        res.status, res.decoder = "ok", "pyav"
    except WorkerStartError:
        raise
    except WorkerError as e:
        res.status, res.reason = "failed", e.reason
    finally:
        for p in temps + [audio_tmp]:
            unlink_quiet(p)
        res.elapsed_s = time.perf_counter() - t0


def _split_pyav(todo: list[SplitResult], store: MediaStore, workers: int, threads: int,
                timeout_s: float) -> list[SplitResult]:
    """Decode ``todo`` with worker processes; return the jobs left when no worker could start."""
    queue, left, lock = list(reversed(todo)), [], threading.Lock()

    def drive() -> None:
        with DecoderWorker() as worker:
            while True:
                with lock:
                    if not queue:
                        return
                    res = queue.pop()
                try:
                    _decode_one(worker, res, store, timeout_s, threads)
                except WorkerStartError:
                    with lock:
                        left.append(res)
                        left.extend(reversed(queue))
                        queue.clear()
                    return
                except Exception as e:  # a bug or an OS error must not lose the other rows
                    res.status, res.reason = "failed", f"internal error: {type(e).__name__}: {e}"[:300]

    pool = [threading.Thread(target=drive, name=f"avgzsl-decoder-{i}", daemon=True) for i in range(workers)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return left


# ---------------------------------------------------------------- ffmpeg backend
def _process_batch(batch: list[SplitResult], store: MediaStore, probe_method: str, decoder_threads,
                   timeout_s: float, max_batch_pixels: int, hwaccel: str | None) -> None:
    t0 = time.perf_counter()
    jobs: list[_Job] = []
    try:
        infos = probe_many([r.input_path for r in batch], method=probe_method, max_workers=1,
                           chunk_size=len(batch), timeout_s=timeout_s)
        for res, info in zip(batch, infos):
            if isinstance(info, MediaError):
                res.status, res.reason = "failed", info.reason
                continue
            res.duration_s = info.duration_s
            if not info.has_video:
                res.status, res.reason, res.has_audio = "failed", "no video stream", info.has_audio
                continue
            try:
                times = job_times(info, res.n_frames, res.frame_policy, res.segment)
            except MediaError as e:
                res.status, res.reason = "failed", e.reason
                continue
            slot = store.audio_path(res.video_id, res.sample_rate)
            jobs.append(_Job(res, Path(res.input_path), info, times,
                             store.frame_paths(res.video_id, res.n_frames, res.frame_policy),
                             slot if info.has_audio else None, slot, policy=res.frame_policy, segment=res.segment,
                             hwaccel=hwaccel if hwaccel and hw_decodable(info) else None,
                             audio_window_s=res.audio_window_s))
        for chunk in pixel_chunks(jobs, max_batch_pixels):
            extract_jobs(chunk, batch[0].sample_rate, decoder_threads, timeout_s)
    except Exception as e:  # a bug or an OS error must not lose the other batches' rows
        for res in batch:
            if res.status != "ok":
                res.status, res.reason = "failed", f"internal error: {type(e).__name__}: {e}"
    finally:
        for j in jobs:
            j.drop_temps()
    per = (time.perf_counter() - t0) / max(1, len(batch))
    for res in batch:
        res.elapsed_s = per


def _split_ffmpeg(todo: list[SplitResult], store: MediaStore, batch_size: int, workers: int, threads,
                  probe_method: str, timeout_s: float, max_batch_pixels: int, hwaccel: str | None) -> None:
    n_batches = math.ceil(math.ceil(len(todo) / batch_size) / workers) * workers  # even shares, every worker busy
    size = math.ceil(len(todo) / n_batches)
    batches = [todo[i: i + size] for i in range(0, len(todo), size)]
    with ThreadPoolExecutor(workers) as ex:
        for fut in [ex.submit(_process_batch, b, store, probe_method, threads, timeout_s, max_batch_pixels,
                              hwaccel) for b in batches]:
            fut.result()


def split_videos(
    requests: Iterable[SplitRequest | tuple],
    store: MediaStore,
    sample_rate: int = 48000,
    n_frames: int = 1,
    batch_size: int = 16,
    max_workers: int = 0,
    previous: Iterable | None = None,
    ledger_path: str | os.PathLike | None = None,
    probe_method: str = "ffmpeg",
    decoder_threads: int | None = 0,
    timeout_s: float = 60.0,
    max_batch_pixels: int = DEFAULT_BATCH_PIXELS,
    on_result: Callable[[SplitResult], None] | None = None,
    frame_policy: str = DEFAULT_FRAME_POLICY,
    backend: str = "auto",
    hwaccel: str = "auto",
    cores: int | None = None,
    audio_window_s: float | None = None,
) -> list[SplitResult]:
    """Extract frames and audio of every request into ``store``; one result per request.

    ``previous``: earlier ledger rows (dicts or results) used to skip unchanged videos;
    when ``ledger_path`` is given they are read from it, and the merged ledger (this
    run's rows plus earlier rows of other videos) is written back to it.
    ``backend``: ``auto`` (PyAV workers when PyAV is installed, else ffmpeg), ``pyav`` or
    ``ffmpeg``; ``hwaccel`` (ffmpeg backend): auto|cuda|none.
    ``max_workers`` (0: as many as ``cores``) worker processes run at once,
    ``decoder_threads`` decoder threads each (0: the cores shared among the workers;
    None: the decoder's default).  ``timeout_s`` bounds the work on one video.
    ``audio_window_s``: the audio encoder's window; longer audio keeps only its centre
    (:func:`avgzsl.media.timeline.audio_segment`), None keeps the whole track.
    ffmpeg backend only: ``batch_size`` videos per process, ``probe_method``,
    ``max_batch_pixels`` (a process decodes at most that many frame pixels at once).
    """
    if n_frames < 1 or sample_rate < 1 or batch_size < 1:
        raise ValueError("n_frames, sample_rate and batch_size must be positive")
    if frame_policy not in FRAME_POLICIES:
        raise ValueError(f"frame_policy {frame_policy!r}: expected one of {', '.join(FRAME_POLICIES)}")
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    reqs = [SplitRequest(*r) for r in requests]
    if previous is None and ledger_path is not None:
        previous = read_ledger(ledger_path)
    prev = {row["video_id"]: row for row in map(as_row, previous or [])}
    results: list[SplitResult] = []
    dups: set[int] = set()
    seen: set[str] = set()
    todo: list[SplitResult] = []
    for req in reqs:
        res = SplitResult(req.video_id, "failed", sample_rate=sample_rate, n_frames=n_frames,
                          frame_policy=frame_policy, start_seconds=req.start_seconds, end_seconds=req.end_seconds,
                          audio_window_s=audio_window_s)
        results.append(res)
        if not isinstance(req.video_id, str) or not req.video_id:
            res.reason = "empty video_id"
        elif req.video_id in seen:
            res.reason = "duplicate video_id in this run"
            dups.add(id(res))
        else:
            seen.add(req.video_id)
            res.input_path = os.path.abspath(os.fspath(req.path))
            res.input_sha256 = req.sha256
            todo.append(res)

    def fingerprint(res: SplitResult) -> SplitResult | None:
        try:
            res.bytes = os.path.getsize(res.input_path)
            if res.bytes == 0:
                res.reason = "empty file (0 bytes)"
                return None
            res.input_sha256 = res.input_sha256 or sha256_file(res.input_path)
        except OSError as e:
            res.reason = "input not found" if isinstance(e, FileNotFoundError) else f"cannot read input: {e.strerror}"
            return None
        p = prev.get(res.video_id)
        if _done(p, res, store):
            res.status, res.reason = "skipped", "up to date"
            res.frame_paths = list(p["frame_paths"])
            res.audio_path, res.has_audio, res.duration_s = p.get("audio_path"), p.get("has_audio"), p.get("duration_s")
            res.decoder = p.get("decoder")
            return None
        return res

    cores = max(1, cores or available_cores())
    with ThreadPoolExecutor(cores) as ex:
        todo = [r for r in ex.map(fingerprint, todo) if r is not None]
    use_pyav = backend == "pyav" or (backend == "auto" and pyav_available())
    hw = resolve_hwaccel(hwaccel) if not use_pyav else None
    if use_pyav and todo:
        workers, threads = plan_workers(len(todo), cores, max_workers, decoder_threads)
        todo = _split_pyav(todo, store, workers, threads or 1, timeout_s)  # what is left: no worker started
    if todo:
        workers, threads = plan_workers(len(todo), cores, max_workers, decoder_threads)
        _split_ffmpeg(todo, store, batch_size, workers, threads, probe_method, timeout_s, max_batch_pixels, hw)
    if on_result is not None:
        for res in results:
            on_result(res)
    if ledger_path is not None:
        mine = {r.video_id for r in results}
        rows = [r.to_row() for r in results if id(r) not in dups]
        rows += [p for v, p in prev.items() if v not in mine]
        write_ledger(rows, ledger_path, SPLIT_SCHEMA)
    return results
