"""Fetch source videos into a :class:`MediaStore`: http(s), file:// and youtube:<id>.

* ``http://`` / ``https://``: streamed (urllib) to a hidden temp file next to the final
  one, then ``os.replace``.  Transient errors (connection errors, timeouts, HTTP 5xx,
  408, 425, 429, a body shorter than its Content-Length) are retried with exponential
  backoff (``backoff_s * 2**k``, or the server's Retry-After when larger, capped at
  60 s); permanent ones (other 4xx, a text/html|text/plain|json body where media was
  expected, by Content-Type or by sniffing the first bytes) fail at once.
* ``file://``: only when the resolved path (symlinks followed) is inside one of
  ``allowed_roots``; hard-linked into the store when on the same file system, else
  copied.  (A hard link shares the source's inode: edit sources by replacing them.)
* ``youtube:<id>``: the yt_dlp Python API (format ``DEFAULT_FORMAT``, ``download_ranges``
  for ``[start, end)`` when given, ``ratelimit``, ``cookiefile`` (a private copy, since
  yt-dlp writes cookies back), output inside a temp folder, then an atomic move).
  Errors such as 'Video unavailable' become a failed row, never an exception.

Segments (``start_seconds, end_seconds``): a ``youtube:`` source is cut at download
(:func:`cut_at_download`); every other source is fetched whole and the split stage takes
the frame and the audio of the segment (:func:`avgzsl.media.split.split_videos`).  A
segment with ``start < 0`` or ``end <= start`` fails at once.

A rerun fetches only what is missing: a source whose sidecar (``<key>.json`` next to
the file) records the same url (and, when cut at download, the same section) as ok,
and whose file is still there with the recorded size, is 'skipped'.
"""
from __future__ import annotations

import json
import os
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, NamedTuple

from avgzsl.data.store import sha256_file, write_text_atomic

from .fetch import (DEFAULT_FORMAT, Bounds, Permanent, Transient, file_once, http_once,  # noqa: F401
                    looks_like_text, youtube_url, ytdlp_once)
from .ledger import DOWNLOAD_SCHEMA, write_ledger
from .store import MediaStore, commit, unlink_quiet

_MAX_WAIT_S = 60.0


class Source(NamedTuple):
    video_id: str
    url: str
    start_seconds: float | None = None
    end_seconds: float | None = None


@dataclass
class DownloadResult:
    video_id: str
    status: str  # 'ok' | 'failed' | 'skipped'
    reason: str = ""
    url: str = ""
    path: str | None = None
    sha256: str | None = None
    bytes: int | None = None
    attempts: int = 0
    elapsed_s: float | None = None
    start_seconds: float | None = None
    end_seconds: float | None = None

    def to_row(self) -> dict:
        return {f: getattr(self, f) for f in DOWNLOAD_SCHEMA.names}


def cut_at_download(url: str) -> bool:
    """True when the downloaded file is already the segment (``youtube:``: yt-dlp cuts it)."""
    return isinstance(url, str) and url.split(":", 1)[0].lower() == "youtube"


def _skip(src: Source, store: MediaStore) -> DownloadResult | None:
    try:
        side = json.loads(store.sidecar_path(src.video_id).read_text())
    except (OSError, ValueError):
        return None
    keys = ("url", "start_seconds", "end_seconds") if cut_at_download(src.url) else ("url",)
    if side.get("status") != "ok" or [side.get(k) for k in keys] != [getattr(src, k) for k in keys]:
        return None
    path = Path(side.get("path") or "")
    if not path.is_file() or path.stat().st_size != side.get("bytes"):
        return None
    return DownloadResult(src.video_id, "skipped", "already downloaded", src.url, str(path), side.get("sha256"),
                          side.get("bytes"), 0, 0.0, src.start_seconds, src.end_seconds)


def _fetch(src: Source, store: MediaStore, allowed_roots: list[Path], retries: int, backoff_s: float,
           timeout_s: float, rate_limit: float | None, cookies_file: str | None, fmt: str,
           bounds: Bounds = Bounds(), deadline: float | None = None) -> DownloadResult:
    t0 = time.monotonic()
    res = DownloadResult(src.video_id, "failed", url=src.url, start_seconds=src.start_seconds,
                         end_seconds=src.end_seconds)
    scheme = urllib.parse.urlparse(src.url).scheme.lower() if isinstance(src.url, str) else ""
    tmp: Path | None = None
    try:
        if not isinstance(src.video_id, str) or not src.video_id:
            raise Permanent("empty video_id")
        if scheme == "youtube":
            target = youtube_url(src.url.split(":", 1)[1])
        elif scheme not in ("http", "https", "file"):
            raise Permanent(f"unsupported url scheme {scheme!r}")
        start, end = src.start_seconds, src.end_seconds
        if (start is not None and start < 0) or (end is not None and end <= (start or 0.0)):
            raise Permanent(f"bad segment [{start}, {end}): expected 0 <= start_seconds < end_seconds")
        for attempt in range(retries + 1):
            res.attempts = attempt + 1
            try:
                if scheme == "file":
                    tmp, suffix, n = file_once(src.url, store, src.video_id, allowed_roots)
                elif scheme == "youtube":
                    tmp, suffix, n = ytdlp_once(target, store, src.video_id, src.start_seconds, src.end_seconds,
                                                 timeout_s, rate_limit, cookies_file, retries, fmt, bounds)
                else:
                    tmp, suffix, n = http_once(src.url, store, src.video_id, timeout_s, rate_limit, bounds, deadline)
                break
            except Transient as e:
                res.reason = str(e)
                wait = min(_MAX_WAIT_S, max(backoff_s * 2 ** attempt, e.wait_s or 0.0))
                if attempt == retries or (deadline is not None and time.monotonic() + wait > deadline):
                    raise Permanent(f"{e} (after {attempt + 1} attempts)")
                time.sleep(wait)
        final = store.video_path(src.video_id, suffix)
        digest = sha256_file(tmp)
        for old in store.find_videos(src.video_id):
            if old != final:
                unlink_quiet(old)
        commit(tmp, final)
        res.status, res.reason, res.path, res.sha256, res.bytes = "ok", "", str(final), digest, n
        side = {"video_id": src.video_id, "url": src.url, "start_seconds": src.start_seconds,
                "end_seconds": src.end_seconds, "status": "ok", "path": str(final), "sha256": digest, "bytes": n}
        write_text_atomic(json.dumps(side), store.sidecar_path(src.video_id))
    except Permanent as e:
        res.status, res.reason = "failed", str(e)
    except OSError as e:
        res.status, res.reason = "failed", f"OS error: {e.strerror or e}"
    finally:
        if res.status != "ok":
            unlink_quiet(tmp)
    res.elapsed_s = time.monotonic() - t0
    return res


def download_sources(
    sources: Iterable[Source | tuple],
    store: MediaStore,
    allowed_roots: Iterable[str | os.PathLike] = (),
    retries: int = 3,
    backoff_s: float = 1.0,
    timeout_s: float = 30.0,
    rate_limit: float | None = None,
    cookies_file: str | os.PathLike | None = None,
    max_workers: int = 1,
    ytdlp_format: str = DEFAULT_FORMAT,
    ledger_path: str | os.PathLike | None = None,
    bounds: Bounds = Bounds(),
) -> list[DownloadResult]:
    """Fetch every source into ``store``; one result per source, in order.

    ``retries``: extra attempts after the first for transient errors; ``backoff_s``:
    first wait (doubled each time); ``timeout_s``: socket timeout per connect/read;
    ``rate_limit``: bytes per second per download (None: unlimited); ``max_workers``:
    concurrent downloads; ``bounds``: the stall speed, size cap and deadline of every
    network read (:class:`avgzsl.media.fetch.Bounds`; its deadline counts from this call,
    for all sources together).  When ``ledger_path`` is given the rows are written there.
    """
    deadline = time.monotonic() + bounds.deadline_s if bounds.deadline_s else None
    srcs = [Source(*s) for s in sources]
    roots = [Path(r) for r in allowed_roots]
    cookies = os.fspath(cookies_file) if cookies_file else None

    def one(src: Source) -> DownloadResult:
        return _skip(src, store) or _fetch(src, store, roots, retries, backoff_s, timeout_s, rate_limit,
                                           cookies, ytdlp_format, bounds, deadline)

    seen: set[str] = set()
    unique = []
    for s in srcs:
        if s.video_id not in seen:
            seen.add(s.video_id)
            unique.append(s)
    with ThreadPoolExecutor(max(1, int(max_workers))) as ex:
        done = dict(zip((id(s) for s in unique), ex.map(one, unique)))
    results = [done.get(id(s)) or DownloadResult(s.video_id, "failed", "duplicate video_id in this run", s.url)
               for s in srcs]
    if ledger_path is not None:
        write_ledger([r for r in results if r.reason != "duplicate video_id in this run"], ledger_path,
                     DOWNLOAD_SCHEMA)
    return results
