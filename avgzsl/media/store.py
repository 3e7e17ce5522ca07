"""Content-addressed layout of downloaded videos, extracted frames and audio.

File names never contain a video id: every id is mapped to ``media_key(id)``, the
first 32 hex digits of sha256(id) (128 bits), so ids with ``/``, ``..``, spaces, a
leading ``-`` or non-ASCII characters are all safe, and a two-digit fan-out folder
keeps directories small::

    root/videos/ab/<key><suffix>          downloaded file (+ <key>.json sidecar)
    root/frames/n<N>/ab/<key>_<i>.png     frame i of N evenly spaced frames (N=1: middle)
    root/frames/n<N>-keyframe/ab/...      the same under the ``keyframe`` frame policy
    root/audio/<rate>/ab/<key>.wav        mono pcm_s16le at <rate> Hz

Frames are PNG: lossless, so the image CLIP sees is exactly the decoded frame (what
the authors fed CLIP from OpenCV), with no JPEG artefacts stacked on the codec's;
a 320x240 PNG costs ~1 ms and 640x360 ~3.5 ms to encode here (one per video) and
about 2.5x the bytes of a q=2 JPEG (60 KB vs 25 KB at 640x360), small next to the video.
Audio is WAV pcm_s16le: laion_clap quantises its input to int16 anyway, and the
sample rate and channel count are in the header.

Writes are atomic: :func:`avgzsl.data.store.temp_path` gives a hidden name in the same
folder (ffmpeg writes there), and :func:`commit` (``os.replace``) moves it into place.
A killed run leaves such names behind; :func:`remove_stale_temps` (called when the
download and split stages start) removes those whose writer is gone.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from pathlib import Path

from avgzsl.data.store import host_tag, is_temp, temp_owner, temp_path, unlink_quiet
from avgzsl.names import DEFAULT_FRAME_POLICY, FRAME_POLICIES

__all__ = ["MediaStore", "commit", "is_temp", "media_key", "remove_stale_temps", "temp_path", "unlink_quiet"]
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

    def frame_path(self, video_id: str, index: int = 0, n_frames: int = 1, policy: str = DEFAULT_FRAME_POLICY) -> Path:
        if not 0 <= index < n_frames:
            raise ValueError(f"frame index {index} outside 0..{n_frames - 1}")
        if policy not in FRAME_POLICIES:
            raise ValueError(f"frame policy {policy!r}: expected one of {', '.join(FRAME_POLICIES)}")
        k = media_key(video_id)
        folder = f"n{int(n_frames)}" + ("" if policy == DEFAULT_FRAME_POLICY else f"-{policy}")
        return self._file("frames", folder, k[:2], f"{k}_{int(index)}.png")

    def frame_paths(self, video_id: str, n_frames: int = 1, policy: str = DEFAULT_FRAME_POLICY) -> list[Path]:
        return [self.frame_path(video_id, i, n_frames, policy) for i in range(n_frames)]

    def audio_path(self, video_id: str, sample_rate: int = 48000) -> Path:
        k = media_key(video_id)
        return self._file("audio", str(int(sample_rate)), k[:2], k + ".wav")


# ------------------------------------------------------------------ debris of killed runs
_CLEANED: set[str] = set()


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds; 0.0 when unknown), or None when it is gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        if fields[0] in ("Z", "X"):  # a zombie: dead, not yet reaped
            return None
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, StopIteration, IndexError, ValueError):
        return 0.0


def _stale(path: Path, host: str, now: float, foreign_age_s: float) -> bool:
    try:
        mtime = path.lstat().st_mtime
    except OSError:
        return False
    owner = temp_owner(path)
    if owner is None or owner[1] != host:  # an older name, or another machine's: by age only
        return now - mtime > foreign_age_s
    start = _process_start(owner[0])
    return start is None or start > mtime + 2.0  # gone, or its pid now names a newer process


def remove_stale_temps(root: str | os.PathLike, foreign_age_s: float = 86400.0, once: bool = True) -> list[Path]:
    """Remove the temporary files and folders under ``root`` whose writer is gone; return them.

    A temporary name carries its writer's pid and host (:func:`avgzsl.data.store.temp_path`):
    on this host it is stale when that process is no longer alive (or the pid now
    belongs to a process started after the file was last written).  Names made on
    another host (a shared volume) or without an owner are removed only when older
    than ``foreign_age_s``.  Files of live writers, this process's included, are kept.
    With ``once`` a folder is cleaned once per process (a stage calls this per shard).
    """
    root = Path(root)
    key = str(root.resolve())
    if once:
        if key in _CLEANED:
            return []
        _CLEANED.add(key)
    removed: list[Path] = []
    host, now = host_tag(), time.time()
    for folder, dirs, files in os.walk(root):
        for name in list(dirs):
            p = Path(folder, name)
            if is_temp(p) and _stale(p, host, now, foreign_age_s):
                shutil.rmtree(p, ignore_errors=True)
                dirs.remove(name)
                removed.append(p)
        for name in files:
            p = Path(folder, name)
            if is_temp(p) and _stale(p, host, now, foreign_age_s):
                unlink_quiet(p)
                removed.append(p)
    return removed
