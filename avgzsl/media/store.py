"""Content-addressed layout of downloaded videos, extracted frames and audio.

File names never contain a video id: every id is mapped to ``media_key(id)``, the
first 32 hex digits of sha256(id) (128 bits), so ids with ``/``, ``..``, spaces, a
leading ``-`` or non-ASCII characters are all safe, and a two-digit fan-out folder
keeps directories small::

    root/videos/ab/<key><suffix>          downloaded file (+ <key>.json sidecar)
    root/frames/n<N>/ab/<key>_<i>.png     frame i of N evenly spaced frames (N=1: middle)
    root/audio/<rate>/ab/<key>.wav        mono pcm_s16le at <rate> Hz

Frames are PNG: lossless, so the image CLIP sees is exactly the decoded frame (what
the authors fed CLIP from OpenCV), with no JPEG artefacts stacked on the codec's;
a 320x240 PNG costs ~1 ms and 640x360 ~3.5 ms to encode here (one per video) and
about 2.5x the bytes of a q=2 JPEG (60 KB vs 25 KB at 640x360), small next to the video.
Audio is WAV pcm_s16le: laion_clap quantises its input to int16 anyway, and the
sample rate and channel count are in the header.

Writes are atomic: :func:`avgzsl.data.store.temp_path` gives a hidden name in the same
folder (ffmpeg writes there), and :func:`commit` (``os.replace``) moves it into place.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from avgzsl.data.store import is_temp, temp_path, unlink_quiet

__all__ = ["MediaStore", "commit", "is_temp", "media_key", "temp_path", "unlink_quiet"]
KEY_LEN = 32
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,10}$")


def media_key(video_id: str) -> str:
    if not isinstance(video_id, str) or not video_id:
        raise ValueError(f"video_id must be a non-empty string, got {video_id!r}")
    return hashlib.sha256(video_id.encode("utf-8")).hexdigest()[:KEY_LEN]


def commit(tmp: Path, final: Path) -> Path:
    os.replace(tmp, final)
    return final


class MediaStore:
    """Paths of a media store rooted at ``root``; every path is checked to lie under it."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"MediaStore({str(self.root)!r})"

    def _inside(self, *parts: str) -> Path:
        p = self.root.joinpath(*parts)
        resolved = p.resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise ValueError(f"path {p} escapes the store root {self.root}")
        return p

    def _file(self, *parts: str) -> Path:
        p = self._inside(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def video_path(self, video_id: str, suffix: str) -> Path:
        suffix = suffix if suffix.startswith(".") else "." + suffix
        if not _SUFFIX.match(suffix):
            raise ValueError(f"bad file suffix {suffix!r}")
        k = media_key(video_id)
        return self._file("videos", k[:2], k + suffix.lower())

    def sidecar_path(self, video_id: str) -> Path:
        k = media_key(video_id)
        return self._file("videos", k[:2], k + ".json")

    def find_videos(self, video_id: str) -> list[Path]:
        """Downloaded files of ``video_id`` (any suffix; the sidecar excluded)."""
        k = media_key(video_id)
        folder = self._inside("videos", k[:2])
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.glob(k + ".*") if p.suffix != ".json" and not is_temp(p))

    def frame_path(self, video_id: str, index: int = 0, n_frames: int = 1) -> Path:
        if not 0 <= index < n_frames:
            raise ValueError(f"frame index {index} outside 0..{n_frames - 1}")
        k = media_key(video_id)
        return self._file("frames", f"n{int(n_frames)}", k[:2], f"{k}_{int(index)}.png")

    def frame_paths(self, video_id: str, n_frames: int = 1) -> list[Path]:
        return [self.frame_path(video_id, i, n_frames) for i in range(n_frames)]

    def audio_path(self, video_id: str, sample_rate: int = 48000) -> Path:
        k = media_key(video_id)
        return self._file("audio", str(int(sample_rate)), k[:2], k + ".wav")
