"""Where in a video its frames and its audio come from: the segment and the frame times.

Pure arithmetic on a :class:`~avgzsl.media.probe.MediaInfo` (no ffmpeg, no PyAV), shared
by both splitting backends so that they pick the same frames.

* The **segment** ``[start, end)`` (seconds from the file's start; ``sources.csv``
  ``start_seconds,end_seconds``) is the whole file when not given.  A segment that
  starts at or after the end of the video is an error; an end past it is cut to it.
* **Frame times**: for a segment of length ``L`` starting at ``s`` and a frame period
  ``p``, the k-th of ``N`` frames is the first frame at or after
  ``s + (k + 0.5) * L / N - p / 2``.  For N = 1, the whole clip and a constant frame
  rate this is exactly ``frames[len(frames) // 2]``, the authors' middle frame.  For an
  even frame count the threshold lies half a frame from any frame, so the duration's
  rounding cannot move it; for an odd count it lies exactly on the middle frame, so the
  duration must be the video stream's own (the PyAV backend allows a small tie slack,
  :data:`avgzsl.media.decode.TIE_SLACK`).
* **Middle times** ``s + (k + 0.5) * L / N``: the ``keyframe`` policy takes the last
  keyframe at or before each.
"""
from __future__ import annotations

from .probe import MediaError, MediaInfo


def _fmt(start: float | None, end: float | None) -> str:
    return f"[{0.0 if start is None else start:g}, {'end' if end is None else f'{end:g}'})"


def segment_span(info: MediaInfo, segment: tuple[float | None, float | None] | None = None
                 ) -> tuple[float, float | None]:
    """``(start, end)`` of the part of the video the outputs come from; ``end`` None when unknown."""
    start, end = segment if segment is not None else (None, None)
    if (start is not None and start < 0) or (end is not None and end <= (start or 0.0)):
        raise MediaError(f"bad segment {_fmt(start, end)}: expected 0 <= start < end")
    s = float(start or 0.0)
    d = info.media_duration_s
    if not d or d <= 0:
        return s, (None if end is None else float(end))
    if s >= d:
        raise MediaError(f"segment {_fmt(start, end)} is outside the media (duration {d:.3f} s)")
    return s, (d if end is None else min(float(end), d))


AUDIO_MARGIN_S = 1.0  # kept on each side of an audio window, so the encoder's centre crop finds it whole


def audio_segment(info: MediaInfo, segment: tuple | None, window_s: float | None) -> tuple | None:
    """The part of the segment whose audio is decoded and stored.

    Without ``window_s`` it is the segment (None: the whole track). When the segment is
    longer than the encoder's window ``window_s`` plus a margin of ``AUDIO_MARGIN_S``
    on each side, only its centre ``window_s + 2 * AUDIO_MARGIN_S`` seconds are kept. The
    encoder centre-crops the stored track, so it sees the same middle ``window_s``
    seconds, and a 3-hour video stores about 12 s of audio instead of 3 hours.
    """
    if not window_s:
        return segment
    start, end = segment_span(info, segment)
    if segment is None or segment[1] is None:  # to the end of the file: the audio may outlast the video
        end = info.duration_s or end
    if end is None or end - start <= window_s + 2 * AUDIO_MARGIN_S:
        return segment
    middle, half = (start + end) / 2, window_s / 2 + AUDIO_MARGIN_S
    return middle - half, middle + half


def frame_times(info: MediaInfo, n_frames: int = 1, segment: tuple | None = None) -> list[float]:
    """Seek positions (seconds from the file's start) of the ``n_frames`` frames."""
    return _spaced(info, n_frames, segment, 0.5 * (info.frame_duration_s or 0.0))


def middle_times(info: MediaInfo, n_frames: int = 1, segment: tuple | None = None) -> list[float]:
    """The middles of the ``n_frames`` equal parts of the segment (the keyframe policy's limits)."""
    return _spaced(info, n_frames, segment, 0.0)


def _spaced(info: MediaInfo, n_frames: int, segment: tuple | None, back: float) -> list[float]:
    """The middles of the segment's ``n_frames`` equal parts, each ``back`` seconds earlier (not before its start)."""
    s, e = segment_span(info, segment)
    if e is None:
        if n_frames == 1:
            return [s]
        raise MediaError("duration unknown: cannot space frames")
    return [s + max(0.0, (k + 0.5) * (e - s) / n_frames - back) for k in range(n_frames)]
