"""One video, one pass, in-process (PyAV): its frames by frame policy and its audio track.

Runs inside a decoder worker process (:mod:`avgzsl.media.worker`), one video at a time.
What it saves against ``ffmpeg -ss t -i video -frames:v 1`` (numbers in
``benchmarks/README.md``):

* **times from the video's first frame.**  ``t`` counts from the first video packet
  (ffmpeg's ``-ss`` counts from the container's start: the same for the usual files; in
  webm with Opus pre-skip or avi with packed B-frames the two differ by a frame's time,
  and the video's own timeline is the one ``frames[len(frames) // 2]`` counts on);
* **only the frames the target needs.**  The packets since the last keyframe at or
  before the target are held back (not decoded) until the demuxer passes the target,
  then decoded with ``skip_frame=NONREF`` for every packet before it: a frame no other
  frame refers to (most B-frames of h264) cannot change the target, so it is skipped.
  The target itself is decoded normally.  The frame is the first whose time is at or
  after the threshold of :func:`avgzsl.media.timeline.frame_times` (compared exactly:
  ffmpeg rounds the threshold to the stream's time base, which in avi is one frame);
  its RGB conversion is libswscale's and it is turned upright by its display matrix,
  as in the ffmpeg command;
* **no probe pass and no second demux for the audio.**  The container is opened once:
  its header gives duration, rate and streams; the audio packets met on the way are
  decoded and resampled (mono, 16-bit, the encoder's rate) straight into the WAV file,
  and once the frames are taken the demuxer reads the audio stream only.

The ``keyframe`` policy decodes one frame per target: the last keyframe at or before
the target's middle time.  A segment ``[start, end)`` limits both the frame times and
the audio; an end past the media's is cut to it.
"""
from __future__ import annotations

import re
import wave
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Callable

import av
import numpy as np
from PIL import Image

from .probe import MediaError, MediaInfo
from .timeline import audio_segment, frame_times, middle_times, segment_span

MAX_HELD_BYTES = 64 << 20  # packets held back before a target; beyond this they are decoded as they come
# For an odd frame count the middle threshold lies exactly on frame n // 2: a container
# duration a millisecond too long (webm) would push it to the next frame.  Frames up to an
# eighth of a frame before a threshold count as at it (ffmpeg's seek has no such slack).
TIE_SLACK = Fraction(1, 8)
PNG_LEVEL = 1  # zlib level of the frame PNGs: lossless either way; 6 costs ~4x the CPU for ~7 % fewer bytes
WAV_CHUNK = 1 << 20  # audio bytes gathered before a write


@dataclass
class DecodeJob:
    path: str
    frame_out: list[str]
    audio_out: str
    sample_rate: int = 48000
    policy: str = "exact"
    segment: tuple[float | None, float | None] | None = None
    threads: int = 1
    audio_window_s: float | None = None  # keep only the centre of longer audio (timeline.audio_segment)


def _reason(err: Exception, logs: list) -> str:
    lines = [m.strip() for level, _, m in logs if level <= av.logging.ERROR and m.strip()]
    text = getattr(err, "strerror", None) or str(err)
    return "; ".join(dict.fromkeys(lines + [text]))[:300]


def _stream_duration(video) -> float | None:
    """The video stream's own duration: its header's, else Matroska's ``DURATION`` tag (the
    stream's end time) less its start (webm/mkv give no stream duration, and the container's
    end includes a longer audio track)."""
    if video.duration:
        return float(video.duration * video.time_base)
    tag = next((v for k, v in (video.metadata or {}).items() if k.upper() == "DURATION"), "")
    match = re.fullmatch(r"(\d+):(\d\d):(\d\d(?:\.\d+)?)", tag.strip())
    if not match:
        return None
    h, m, sec = match.groups()
    start = float((video.start_time or 0) * video.time_base)  # the tag is the stream's end time
    length = int(h) * 3600 + int(m) * 60 + float(sec) - start
    return length if length > 0 else None


def media_info(container, video, audio) -> MediaInfo:
    vdur = _stream_duration(video) if video is not None else None
    rate = (video.average_rate or video.guessed_rate) if video is not None else None
    return MediaInfo(
        duration_s=container.duration / 1e6 if container.duration else vdur,
        has_video=video is not None, has_audio=audio is not None,
        width=video.codec_context.width if video is not None else None,
        height=video.codec_context.height if video is not None else None,
        video_codec=video.codec_context.name if video is not None else None,
        audio_codec=audio.codec_context.name if audio is not None else None,
        format_name=container.format.name, fps=float(rate) if rate else None,
        start_s=(container.start_time or 0) / 1e6, video_duration_s=vdur,
        audio_sample_rate=audio.codec_context.sample_rate if audio is not None else None,
        pix_fmt=video.codec_context.format.name if video is not None and video.codec_context.format else None)


def to_rgb(frame) -> np.ndarray:
    """The frame as RGB24, turned upright as ffmpeg's autorotate does (display matrix, multiples of 90°)."""
    rgb = frame.to_ndarray(format="rgb24", interpolation="BICUBIC")
    quarter = round((frame.rotation or 0) / 90)
    if quarter % 4 and abs((frame.rotation or 0) - 90 * quarter) < 1:
        rgb = np.ascontiguousarray(np.rot90(rgb, quarter % 4))
    return rgb


class _FramePicker:
    """Feeds video packets to the decoder only as far as the targets need them."""

    def __init__(self, stream, plan: Callable[[int], list[Fraction]], n: int, policy: str, threads: int):
        self.cc = stream.codec_context
        self.cc.thread_count = max(1, threads)
        self.cc.thread_type = "AUTO"
        self.plan, self.policy = plan, policy
        self.th: list[Fraction] = []  # thresholds in stream ticks, planned at the first packet (the video's origin)
        self.frames: list[np.ndarray | None] = [None] * n
        self.k = 0
        self.held: list = []  # packets since the last keyframe at or before the target, not yet decoded
        self.held_bytes = 0
        self.restart = False  # ``held`` starts at a new keyframe: reset the decoder before feeding it
        self.feeding = False
        self.last_ts: int | None = None
        self.key_rgb: tuple | None = None  # (packet, its frame) of the keyframe decoded last
        self.decoded = 0  # frames the decoder output (skipped ones are not decoded at all)

    @property
    def done(self) -> bool:
        return self.k >= len(self.frames)

    def feed(self, pkt) -> None:
        if self.done or pkt.size == 0:
            return
        ts = pkt.pts if pkt.pts is not None else pkt.dts
        if not self.th:
            self.th = self.plan(ts or 0)
        if self.policy == "keyframe":  # ``held`` is [the last keyframe at or before the target]
            while self.held and ts is not None and not self.done and ts > self.th[self.k]:
                self._take_keyframe()
            if not self.done and pkt.is_keyframe and (ts is None or ts <= self.th[self.k] or not self.held):
                self.held = [pkt]
            return
        if pkt.is_keyframe and ts is not None and ts <= self.th[self.k]:
            self.held, self.held_bytes, self.restart, self.feeding = [], 0, True, False
        if self.feeding:
            self._decode(pkt)
            return
        self.held.append(pkt)
        self.held_bytes += pkt.size
        if (ts is not None and ts >= self.th[self.k]) or self.held_bytes > MAX_HELD_BYTES:
            self._release()

    def finish(self) -> None:
        """End of the stream: decode what is held, drain the decoder."""
        if self.done or not self.th:
            return
        if self.policy == "keyframe":
            while self.held and not self.done:
                self._take_keyframe()
            return
        self._release()
        self._drain()

    # -------------------------------------------------------------- exact policy
    def _release(self) -> None:
        if self.restart:
            self.cc.flush_buffers()
            self.restart = False
        held, self.held, self.held_bytes = self.held, [], 0
        self.feeding = True
        for p in held:
            if self.done:
                return
            self._decode(p)

    def _decode(self, pkt) -> None:
        before = pkt.pts is not None and pkt.pts < self.th[self.k]
        self.cc.skip_frame = "NONREF" if before else "DEFAULT"
        try:
            frames = self.cc.decode(pkt)
        except av.error.FFmpegError:  # a damaged packet: the decoder conceals, as ffmpeg does
            return
        for frame in frames:
            self._offer(frame)

    def _drain(self) -> None:
        self.cc.skip_frame = "DEFAULT"
        try:
            for frame in self.cc.decode(None):
                self._offer(frame)
        except av.error.FFmpegError:
            pass

    def _offer(self, frame) -> None:
        self.decoded += 1
        ts = frame.pts if frame.pts is not None else frame.dts
        if ts is None:
            ts = self.last_ts + 1 if self.last_ts is not None else 0
        self.last_ts = ts
        if self.done or ts < self.th[self.k]:
            return
        rgb = to_rgb(frame)
        while not self.done and self.th[self.k] <= ts:
            self.frames[self.k] = rgb
            self.k += 1
        if not self.done:
            self.feeding = False  # hold packets again: a keyframe may come before the next target

    # ----------------------------------------------------------- keyframe policy
    def _take_keyframe(self) -> None:
        key = self.held[0]
        if self.key_rgb is None or self.key_rgb[0] is not key:
            self.cc.flush_buffers()
            self.cc.skip_frame = "DEFAULT"
            got = []
            try:
                got = list(self.cc.decode(key)) + list(self.cc.decode(None))
            except av.error.FFmpegError:
                pass
            self.decoded += len(got)
            self.cc.flush_buffers()
            self.key_rgb = (key, to_rgb(got[0]) if got else None)
        if self.key_rgb[1] is None:  # undecodable: try the next keyframe
            self.held = []
            return
        self.frames[self.k] = self.key_rgb[1]
        self.k += 1


class _AudioWriter:
    """Decoded audio, resampled to mono s16 at ``rate``, cut to the segment, into a WAV file."""

    def __init__(self, stream, path: str, rate: int, start_s: float, span: tuple[float, float | None]):
        self.cc = stream.codec_context
        self.tb, self.rate, self.start_s = stream.time_base, rate, start_s
        self.span = span
        self.resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        self.wav = wave.open(path, "wb")
        self.wav.setnchannels(1)
        self.wav.setsampwidth(2)
        self.wav.setframerate(rate)
        self.pos: int | None = None  # index of the next output sample on the file's timeline
        self.lo = round(span[0] * rate)
        self.hi = None if span[1] is None else round(span[1] * rate)
        self.samples = 0
        self.pending: list[bytes] = []
        self.pending_bytes = 0

    @property
    def full(self) -> bool:
        return self.hi is not None and self.pos is not None and self.pos >= self.hi

    def feed(self, pkt) -> None:
        try:
            frames = self.cc.decode(pkt if pkt.size else None)
        except av.error.FFmpegError:
            return
        for frame in frames:
            if self.pos is None:
                t0 = float(frame.pts * self.tb) - self.start_s if frame.pts is not None else 0.0
                self.pos = round(max(0.0, t0) * self.rate)
            for out in self.resampler.resample(frame):
                self._write(out)

    def _write(self, out) -> None:
        data = np.frombuffer(out.planes[0], dtype="<i2", count=out.samples)  # packed mono s16
        a, b = self.pos or 0, (self.pos or 0) + len(data)
        self.pos = b
        lo, hi = max(a, self.lo), b if self.hi is None else min(b, self.hi)
        if hi > lo:
            self.pending.append(data[lo - a: hi - a].tobytes())
            self.pending_bytes += 2 * (hi - lo)
            self.samples += hi - lo
            if self.pending_bytes >= WAV_CHUNK:
                self._flush()

    def _flush(self) -> None:
        # ``writeframesraw``: no header rewrite per call (``writeframes`` seeks back to patch it
        # every time, a fifth of the audio's cost); ``close`` writes the final header once
        self.wav.writeframesraw(b"".join(self.pending))
        self.pending, self.pending_bytes = [], 0

    def close(self) -> int:
        try:
            for out in self.resampler.resample(None):
                self._write(out)
        except av.error.FFmpegError:
            pass
        self._flush()
        self.wav.close()
        return self.samples


def _streams(container):
    video = next((s for s in container.streams.video
                  if not (s.disposition & av.stream.Disposition.attached_pic)), None)
    audio = next(iter(container.streams.audio), None)
    return video, audio


def run_job(job: DecodeJob) -> dict:
    """Decode ``job``: write its PNG frames and WAV; a dict of what was found (``error``: why it failed).

    Raises :class:`MediaError` for a file that cannot be read as media."""
    av.logging.set_level(av.logging.ERROR)
    av.logging.set_skip_repeated(False)  # every video gets its own reasons
    with av.logging.Capture(local=True) as logs:
        try:
            container = av.open(job.path, metadata_errors="ignore")
        except av.error.FFmpegError as err:
            raise MediaError(_reason(err, logs)) from None
    with container:
        video, audio = _streams(container)
        info = media_info(container, video, audio)
        out = {"duration_s": info.duration_s, "has_audio": audio is not None, "audio_samples": 0}
        if video is None:
            return {**out, "error": "no video stream"}
        try:
            _decode_into(job, container, video, audio, info, out)
        except MediaError as err:
            out["error"] = err.reason
        return out


def _decode_into(job: DecodeJob, container, video, audio, info: MediaInfo, out: dict) -> None:
    span = segment_span(info, job.segment)
    tb, times = video.time_base, []

    def plan(origin: int) -> list[Fraction]:
        """Thresholds from the video's first packet: ``t`` is time since the video's first frame."""
        timeline = info
        if info.video_duration_s is None and container.duration:  # the container's end, less the video's start
            end_s = ((container.start_time or 0) + container.duration) / 1e6
            timeline = replace(info, duration_s=end_s - float(origin * tb))
        times.extend((frame_times if job.policy == "exact" else middle_times)(timeline, len(job.frame_out),
                                                                              job.segment))
        slack = Fraction(0)
        if job.policy == "exact" and info.fps:  # a near-tie goes to the earlier frame: see TIE_SLACK
            slack = TIE_SLACK / (Fraction(info.fps).limit_denominator(1001) * tb)
        return [origin + Fraction(round(t * 1e6), 1_000_000) / tb - slack for t in times]  # exact, in ticks

    picker = _FramePicker(video, plan, len(job.frame_out), job.policy, job.threads)
    kept = audio_segment(info, job.segment, job.audio_window_s)
    cut = segment_span(info, kept) if kept is not None else (0.0, None)  # None: the whole track, as long as it is
    writer = _AudioWriter(audio, job.audio_out, job.sample_rate, info.start_s, cut) if audio else None
    try:
        with av.logging.Capture(local=True):
            for pkt in container.demux(*(s for s in (video, audio) if s is not None)):
                if pkt.stream is video:
                    picker.feed(pkt)
                elif writer is not None:
                    writer.feed(pkt)
                if picker.done:
                    break
            picker.finish()
            if writer is not None:
                for pkt in container.demux(audio):  # the rest of the file, video discarded
                    if writer.full:
                        break  # past the kept part: the rest is neither decoded nor stored
                    writer.feed(pkt)
    finally:
        out["frames_decoded"] = picker.decoded
        if writer is not None:
            out["audio_samples"] = writer.close()
    for t, path, rgb in zip(times or [0.0] * len(job.frame_out), job.frame_out, picker.frames):
        if rgb is None:
            raise MediaError(f"no video frame decoded at t={t:.3f}s")
        Image.fromarray(rgb).save(path, format="PNG", compress_level=PNG_LEVEL)
