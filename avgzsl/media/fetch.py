"""One attempt at fetching a source into a temp file of the store, per URL scheme.

Each ``*_once`` function returns ``(temp path, suffix, bytes)`` or raises
:class:`Transient` (worth retrying) or :class:`Permanent`; the retry loop, the sidecar
and the final atomic move are in :mod:`avgzsl.media.download`.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from pathlib import Path

from avgzsl.data.store import TEMP_MARK, owner_tag

from .store import MediaStore, temp_path, unlink_quiet

DEFAULT_FORMAT = "bv*[height<=360]+ba/b[height<=360]/b"
USER_AGENT = "avgzsl-media/0.1 (+https://github.com/dkurzend/ClipClap-GZSL)"
_CHUNK = 1 << 16
_YT_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_SUFFIXES = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".flv", ".mpg", ".mpeg", ".ts",
             ".3gp", ".ogv", ".ogg", ".m4a", ".mp3", ".wav", ".opus", ".flac",
             ".rar", ".zip", ".tar", ".gz", ".tgz", ".7z"}  # archives: see archive.py
_CTYPES = {"video/mp4": ".mp4", "video/webm": ".webm", "video/x-msvideo": ".avi", "video/avi": ".avi",
           "video/x-matroska": ".mkv", "video/quicktime": ".mov", "video/x-flv": ".flv",
           "video/mpeg": ".mpg", "video/mp2t": ".ts", "audio/mp4": ".m4a", "audio/mpeg": ".mp3"}
_TEXT_TYPES = ("text/", "application/json", "application/xhtml", "application/xml")


class Transient(Exception):
    """Worth retrying."""

    def __init__(self, reason: str, wait_s: float | None = None):
        super().__init__(reason)
        self.wait_s = wait_s


class Permanent(Exception):
    """Not worth retrying."""


@dataclass(frozen=True)
class Bounds:
    """Limits on every network read (docs/predict.md), like curl's --speed-limit/--speed-time and --max-filesize.

    ``stall_speed`` bytes/s averaged over ``stall_time_s`` (a slower or stalled transfer is
    abandoned), ``max_download_mb`` (a larger body, announced or received, is refused; None:
    no cap), ``deadline_s`` for all sources of one call together (None: none).
    """

    stall_speed: float = field(default=1024.0, metadata={"help": "a download slower than this many bytes/s for "
                                                                 "stall_time_s is abandoned (curl's --speed-limit)"})
    stall_time_s: float = field(default=30.0, metadata={"help": "see stall_speed (curl's --speed-time)"})
    max_download_mb: float | None = field(default=1024.0, metadata={"help": "a larger video is refused (archives "
                                                                           "are exempt); null: no cap"})
    deadline_s: float | None = field(default=None, metadata={"help": "for all downloads of one shard (predict: of "
                                                                     "its inputs, default 900 s); null: none"})

    def meter(self, deadline: float | None) -> "_Meter":
        return _Meter(self, deadline)

    def check_announced(self, length: int | None) -> None:
        if length is not None and self.max_download_mb is not None and length > self.max_download_mb * 1e6:
            raise Permanent(f"announces {length / 1e6:.0f} MB, over the {self.max_download_mb:g} MB cap "
                            "(max_download_mb)")


class _Meter:
    """Counts a transfer's bytes and refuses it when it passes a bound (Permanent: a retry would not do better)."""

    def __init__(self, bounds: Bounds, deadline: float | None):
        self.bounds, self.deadline = bounds, deadline
        self.n = self.window_n = 0
        self.window_t = time.monotonic()

    def timeout(self, timeout_s: float) -> float:
        """The socket timeout: ``timeout_s``, or what is left before the deadline."""
        left = None if self.deadline is None else self.deadline - time.monotonic()
        if left is not None and left <= 0:
            raise Permanent(f"the inputs' deadline ({self.bounds.deadline_s:g} s, deadline_s) passed before it started")
        return max(0.01, min(timeout_s, left)) if left is not None else timeout_s

    def add(self, nbytes: int) -> None:
        b, now = self.bounds, time.monotonic()
        self.n += nbytes
        if b.max_download_mb is not None and self.n > b.max_download_mb * 1e6:
            raise Permanent(f"larger than the {b.max_download_mb:g} MB cap (max_download_mb)")
        if self.deadline is not None and now > self.deadline:
            raise Permanent(f"the inputs' deadline ({b.deadline_s:g} s, deadline_s) passed after {self.n} bytes")
        if now - self.window_t >= b.stall_time_s:
            speed = (self.n - self.window_n) / (now - self.window_t)
            if speed < b.stall_speed:
                raise Permanent(f"too slow: {speed:.0f} bytes/s, under {b.stall_speed:g} bytes/s for "
                                f"{b.stall_time_s:g} s (stall_speed, stall_time_s)")
            self.window_t, self.window_n = now, self.n


def youtube_url(youtube_id: str) -> str:
    """``https://www.youtube.com/watch?v=<id>`` for a valid 11-character YouTube id."""
    if not isinstance(youtube_id, str) or not _YT_ID.match(youtube_id):
        raise Permanent(f"not a YouTube id: {youtube_id!r}")
    return "https://www.youtube.com/watch?v=" + youtube_id


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def looks_like_text(head: bytes) -> bool:
    """True for an HTML/XML/JSON/plain-text start of a body (never for media)."""
    s = head[:512].lstrip()
    low = s[:64].lower()
    if low.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body", b"{", b"[")):
        return True
    try:
        text = s.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return bool(text) and all(c.isprintable() or c in "\r\n\t" for c in text)


def _suffix(url_path: str, content_type: str | None, default: str = ".mp4") -> str:
    suf = Path(urllib.parse.unquote(url_path)).suffix.lower()
    if suf in _SUFFIXES:
        return suf
    return _CTYPES.get((content_type or "").split(";")[0].strip().lower(), default)


def _throttle(t0: float, nbytes: int, rate_limit: float | None) -> None:
    if rate_limit:
        ahead = nbytes / rate_limit - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)


def http_once(url: str, store: MediaStore, video_id: str, timeout_s: float,
               rate_limit: float | None, bounds: Bounds = Bounds(),
               deadline: float | None = None) -> tuple[Path, str, int]:
    """One GET to a temp file: (temp path, suffix, bytes) or Transient/Permanent; ``bounds`` (speed, size, the
    ``deadline`` as a ``time.monotonic()`` value) end it with Permanent."""
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    meter = bounds.meter(deadline)
    try:
        resp = urllib.request.urlopen(req, timeout=meter.timeout(timeout_s))
    except urllib.error.HTTPError as e:
        msg = f"HTTP {e.code} {e.reason}"
        e.close()
        if e.code >= 500 or e.code in (408, 425, 429):
            raise Transient(msg, _retry_after(e.headers.get("Retry-After") if e.headers else None))
        raise Permanent(msg)
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, HTTPException) as e:
        raise Transient(f"connection error: {getattr(e, 'reason', e)}")
    with resp:
        ctype = resp.headers.get("Content-Type", "")
        if ctype.split(";")[0].strip().lower().startswith(_TEXT_TYPES):
            raise Permanent(f"server returned {ctype.split(';')[0].strip()}, not media")
        length = resp.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        bounds.check_announced(expected)
        final = store.video_path(video_id, _suffix(urllib.parse.urlparse(resp.geturl()).path, ctype))
        tmp = temp_path(final)
        n, t0 = 0, time.monotonic()
        try:
            with open(tmp, "wb") as f:
                first = True
                while True:
                    try:
                        block = resp.read1(_CHUNK)  # what has arrived: a trickle is measured, not waited on
                    except (socket.timeout, TimeoutError, ConnectionError, HTTPException) as e:
                        raise Transient(f"connection error while reading: {e or type(e).__name__}")
                    if not block:
                        break
                    if first and looks_like_text(block):
                        raise Permanent("body is text/html, not media")
                    first = False
                    f.write(block)
                    n += len(block)
                    meter.add(len(block))
                    _throttle(t0, n, rate_limit)
            if n == 0:
                raise Permanent("empty body")
            if expected is not None and n != expected:
                raise Transient(f"truncated body: got {n} of {expected} bytes")
        except BaseException:
            unlink_quiet(tmp)
            raise
        return tmp, final.suffix, n


def file_once(url: str, store: MediaStore, video_id: str, allowed_roots: list[Path]) -> tuple[Path, str, int]:
    parsed = urllib.parse.urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise Permanent("file:// with a remote host")
    raw = Path(urllib.request.url2pathname(parsed.path))
    try:
        src = raw.resolve(strict=True)
    except (FileNotFoundError, RuntimeError):
        raise Permanent("file not found")
    roots = [Path(r).resolve() for r in allowed_roots]
    if not any(src == r or r in src.parents for r in roots):
        raise Permanent("file:// outside allowed folders")
    if not src.is_file():
        raise Permanent("not a regular file")
    final = store.video_path(video_id, src.suffix.lower() if src.suffix.lower() in _SUFFIXES else ".mp4")
    tmp = temp_path(final)
    try:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
    except BaseException:
        unlink_quiet(tmp)
        raise
    return tmp, final.suffix, tmp.stat().st_size


class _YtLogger:
    def __init__(self):
        self.errors: list[str] = []

    def debug(self, msg):
        pass

    info = warning = debug

    def error(self, msg):
        self.errors.append(msg)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_YT_PERMANENT = ("unavailable", "private", "removed", "not available", "terminated", "sign in",
                 "copyright", "http error 404", "http error 403", "http error 410", "unsupported url",
                 "not a youtube id", "no video formats", "requested format is not available")


_YT_TRANSIENT = ("http error 429", "too many requests", "timed out", "connection reset",
                 "temporary failure", "http error 5", "remote end closed")


def _yt_reason(msg: str) -> str:
    msg = _ANSI.sub("", str(msg)).strip()
    return msg[len("ERROR: "):] if msg.startswith("ERROR: ") else msg


def ytdlp_once(url: str, store: MediaStore, video_id: str, start: float | None, end: float | None,
                timeout_s: float, rate_limit: float | None, cookies_file: str | None, retries: int,
                fmt: str, bounds: Bounds = Bounds()) -> tuple[Path, str, int]:
    import yt_dlp
    from yt_dlp.utils import download_range_func

    folder = store.video_path(video_id, ".mp4").parent
    with tempfile.TemporaryDirectory(prefix=f".ytdlp{TEMP_MARK}{owner_tag()}-", dir=folder) as tmpdir:
        logger = _YtLogger()
        opts = {
            "format": fmt, "outtmpl": {"default": "media.%(ext)s"},
            "paths": {"home": tmpdir, "temp": tmpdir}, "logger": logger, "quiet": True,
            "no_warnings": True, "noprogress": True, "noplaylist": True, "cachedir": False,
            "socket_timeout": timeout_s, "retries": retries, "fragment_retries": retries,
            "overwrites": True, "color": {"stderr": "never", "stdout": "never"},
        }
        if rate_limit:
            opts["ratelimit"] = rate_limit
        if bounds.max_download_mb is not None:
            opts["max_filesize"] = int(bounds.max_download_mb * 1e6)
        if bounds.stall_speed:
            opts["throttledratelimit"] = bounds.stall_speed
        if cookies_file:
            private = os.path.join(tmpdir, "cookies.txt")
            shutil.copyfile(cookies_file, private)
            opts["cookiefile"] = private
        if start is not None or end is not None:
            opts["download_ranges"] = download_range_func(None, [(start or 0.0, end if end is not None else float("inf"))])
        try:
            with yt_dlp.YoutubeDL(opts) as ydl:
                info = ydl.extract_info(url, download=True)
        except yt_dlp.utils.DownloadError as e:
            reason = _yt_reason(e.msg if hasattr(e, "msg") else e)
            low = reason.lower()
            # yt-dlp already retried HTTP errors itself (``retries``): only rate limits,
            # timeouts and resets are worth another round
            if not any(k in low for k in _YT_PERMANENT) and any(k in low for k in _YT_TRANSIENT):
                raise Transient(reason)
            raise Permanent(reason)
        files = [Path(d["filepath"]) for d in (info or {}).get("requested_downloads", []) if d.get("filepath")]
        files = [p for p in files if p.is_file()] or sorted(Path(tmpdir).glob("media.*"))
        files = [p for p in files if p.suffix not in (".part", ".ytdl", ".txt")]
        if not files:
            raise Permanent("yt-dlp produced no file" + (f": {logger.errors[-1]}" if logger.errors else ""))
        got = files[0]
        suffix = got.suffix.lower() if got.suffix.lower() in _SUFFIXES else ".mp4"
        tmp = temp_path(store.video_path(video_id, suffix))
        os.replace(got, tmp)
        return tmp, suffix, tmp.stat().st_size
