"""Run ffmpeg for a batch of probed videos: one process, many inputs and outputs.

Used by :mod:`avgzsl.media.split`.  Each job is one video whose frame times are
known; :func:`extract_jobs` runs them in ONE ffmpeg process (every frame output first,
then every audio output), commits the outputs of the jobs that succeeded, and splits
the rest in halves until a failing video is alone, which then gets ffmpeg's reason.
"""
from __future__ import annotations

import subprocess
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ffmpeg

from .probe import FFMPEG, MediaError, MediaInfo, clean_reason, input_arg, probe
from .store import commit, temp_path, unlink_quiet

DEFAULT_BATCH_PIXELS = 16 * 640 * 360


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
    result: Any  # a SplitResult
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


def extract_jobs(jobs: list[_Job], sample_rate: int, decoder_threads, timeout_s: float) -> None:
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
        extract_jobs(bad[:half], sample_rate, decoder_threads, timeout_s)
        extract_jobs(bad[half:], sample_rate, decoder_threads, timeout_s)
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
            return extract_jobs([job], sample_rate, decoder_threads, timeout_s)
    job.drop_temps()
    job.result.status, job.result.reason = "failed", why[:300] if why else "unknown error"


DEFAULT_BATCH_PIXELS = 16 * 640 * 360


def pixel_chunks(jobs: list[_Job], budget: int) -> list[list[_Job]]:
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
