"""The ffmpeg backend of the split: a batch of probed videos in one ffmpeg process.

Used by :mod:`avgzsl.media.split` when a GPU decodes (``-hwaccel cuda``) or PyAV is
missing.  Each job is one video whose frame times are known; :func:`extract_jobs`
runs them in ONE ffmpeg process (every frame output first, then every audio output),
commits the outputs of the jobs that succeeded, and splits the rest in halves until a
failing video is alone, which then gets ffmpeg's reason.

Frames: ``-ss t`` before ``-i`` (seek to the keyframe before ``t``, decode from there,
keep the first frame at or after ``t``); the ``keyframe`` policy seeks to the middle
with ``-noaccurate_seek`` and keeps the first keyframe (``select=key``): the one the
seek landed on.  (``-skip_frame nokey`` would decode less, but h264's reordering then
puts a later keyframe first.)  With ``-hwaccel cuda``
the decoded frame comes back as NV12 and is made ``yuv420p`` first, so that the RGB
conversion is the software path's.  A batch that fails on the GPU is rerun in software
once, and the GPU is then left alone for the rest of the process.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ffmpeg

from . import children
from .probe import FFMPEG, MediaError, MediaInfo, clean_reason, input_arg, probe
from .store import commit, temp_path, unlink_quiet
from .timeline import audio_segment, frame_times, middle_times

DEFAULT_BATCH_PIXELS = 16 * 640 * 360
# Codecs NVDEC decodes (8-bit 4:2:0 only here: the RGB conversion must stay the software one's).
NVDEC_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg1video", "mpeg2video", "mpeg4", "vc1"})
_HW: dict[str, Any] = {}  # cached detection; "disabled": why the GPU is no longer used in this process


def gpu_present() -> bool:
    """A CUDA GPU: torch says so (when already imported), or ``nvidia-smi -L`` lists one."""
    if "gpu" not in _HW:
        torch = sys.modules.get("torch")
        found = bool(torch is not None and torch.cuda.is_available())
        smi = shutil.which("nvidia-smi")
        if not found and smi:
            try:
                r = children.run([smi, "-L"], 10, capture_output=True)
                found = r.returncode == 0 and b"GPU" in r.stdout
            except (OSError, subprocess.SubprocessError):
                found = False
        _HW["gpu"] = found
    return _HW["gpu"]


def ffmpeg_hwaccels() -> frozenset[str]:
    if "hwaccels" not in _HW:
        try:
            r = children.run([FFMPEG, "-hide_banner", "-hwaccels"], 20, capture_output=True, text=True)
            lines = r.stdout.splitlines()[1:] if r.returncode == 0 else []
        except (OSError, subprocess.SubprocessError):
            lines = []
        _HW["hwaccels"] = frozenset(x.strip() for x in lines if x.strip())
    return _HW["hwaccels"]


def resolve_hwaccel(setting: str = "auto") -> str | None:
    """``'cuda'`` when asked for (``auto``: a GPU is present) and ffmpeg has it, else None."""
    if setting not in ("auto", "cuda", "none"):
        raise ValueError(f"hwaccel {setting!r}: expected auto, cuda or none")
    if setting == "none" or _HW.get("disabled"):
        return None
    if setting == "auto" and not gpu_present():
        return None
    return "cuda" if "cuda" in ffmpeg_hwaccels() else None


def hw_decodable(info: MediaInfo) -> bool:
    return info.video_codec in NVDEC_CODECS and info.pix_fmt in ("yuv420p", "yuvj420p")


def job_times(info: MediaInfo, n_frames: int, policy: str, segment: tuple | None) -> list[float]:
    """Seek times: the exact frames' thresholds, or the middles the keyframe policy seeks to."""
    return (frame_times if policy == "exact" else middle_times)(info, n_frames, segment)


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
    policy: str = "exact"
    segment: tuple[float | None, float | None] | None = None
    hwaccel: str | None = None  # 'cuda': decode this job's frames on the GPU
    audio_window_s: float | None = None  # keep only the centre of longer audio (timeline.audio_segment)

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
        kw, okw = dict(tkw), {}
        if job.policy == "keyframe":  # the first keyframe from the seek point; it lies before t: keep its time
            kw["noaccurate_seek"] = None
            okw["fps_mode"] = "passthrough"
        if job.hwaccel:
            kw["hwaccel"] = job.hwaccel
        for t, tmp in zip(job.times, job.frame_tmp):
            src = ffmpeg.input(input_arg(job.path), ss=f"{t:.6f}", **kw)["v:0"]
            if job.policy == "keyframe":
                src = src.filter("select", "key")
            if job.hwaccel:
                src = src.filter("format", "yuv420p")
            outs.append(ffmpeg.output(src, "file:" + str(tmp), f="image2", update=1,
                                      vframes=1, pix_fmt="rgb24", **okw, **{"c:v": "png"}))
    for job in jobs:
        if job.audio_tmp is not None:
            kept = audio_segment(job.info, job.segment, job.audio_window_s)
            start, end = kept or (None, None)
            cut = {} if kept is None else {"ss": f"{start or 0.0:.6f}"}
            if end is not None:
                cut["t"] = f"{end - (start or 0.0):.6f}"
            src = ffmpeg.input(input_arg(job.path), **tkw, **cut)
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
    r.status, r.decoder = "ok", "ffmpeg+" + job.hwaccel if job.hwaccel else "ffmpeg"


def _run_once(jobs: list[_Job], sample_rate: int, decoder_threads, timeout_s: float) -> tuple[bool, str]:
    for j in jobs:
        j.new_temps()
    argv = build_batch_argv(jobs, sample_rate, decoder_threads)
    limit = timeout_s * len(jobs)
    try:
        r = children.run(argv, limit, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except subprocess.TimeoutExpired:
        return False, f"ffmpeg timed out after {limit:g}s"
    paths = tuple(input_arg(j.path) for j in jobs)
    return r.returncode == 0, clean_reason(r.stderr.decode("utf-8", "replace"), paths, empty="")


def _run(jobs: list[_Job], sample_rate: int, decoder_threads, timeout_s: float) -> tuple[bool, str]:
    """Run the batch; on the GPU, a failing batch is rerun in software (and the GPU left alone if that works)."""
    if _HW.get("disabled"):
        for j in jobs:
            j.hwaccel = None
    ok, reason = _run_once(jobs, sample_rate, decoder_threads, timeout_s)
    if (not ok or any(_missing(j) for j in jobs)) and any(j.hwaccel for j in jobs):
        for j in jobs:
            j.hwaccel = None
        ok, soft = _run_once(jobs, sample_rate, decoder_threads, timeout_s)
        if ok and not any(_missing(j) for j in jobs):
            _HW["disabled"] = reason or "GPU decoding produced no frame"
        reason = soft
    return ok, reason


def extract_jobs(jobs: list[_Job], sample_rate: int, decoder_threads, timeout_s: float,
                 reprobed: bool = False) -> None:
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
    if ok and not reprobed and job.info.video_duration_s is None and why and why.startswith("no video frame"):
        # the batched probe gives the container's duration; a video stream shorter than
        # the audio may end before it.  ffprobe knows the stream's own duration: retry once.
        job.drop_temps()
        try:
            job.info = probe(job.path, timeout_s)
            job.times = job_times(job.info, len(job.times), job.policy, job.segment)
        except MediaError as e:
            why = e.reason
        else:
            return extract_jobs([job], sample_rate, decoder_threads, timeout_s, reprobed=True)
    job.drop_temps()
    job.result.status, job.result.reason = "failed", why[:300] if why else "unknown error"


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
