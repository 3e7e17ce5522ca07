"""Videos that live inside one big archive (UCF101's official .rar).

``ucf101:<member>`` sources name a member of the archive.  The archive is fetched
once into the store (any source the downloader takes: https, or file:// inside an
allowed folder), unpacked once by ``bsdtar`` (libarchive: rar, zip, tar, 7z) into a
folder next to it, and each member is then linked into the store like a
``file://`` download.  Unpacking goes to a temporary folder renamed into place, so
an interrupted run leaves nothing half-unpacked behind.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

from . import children
from .download import Bounds, DownloadResult, Source, download_sources
from .store import MediaStore

UCF101_ARCHIVE_URL = "https://www.crcv.ucf.edu/data/UCF101/UCF101.rar"
ARCHIVE_SCHEMES = {"ucf101": UCF101_ARCHIVE_URL}


def unpack_archive(archive: Path, dest: Path, timeout_s: float = 7200.0) -> Path:
    """Unpack ``archive`` into ``dest`` once (a marker file says it is complete)."""
    marker = dest / ".unpacked"
    if marker.exists():
        return dest
    if shutil.which("bsdtar") is None:
        raise RuntimeError("bsdtar is missing: install libarchive-tools (apt-get install -y libarchive-tools)")
    tmp = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    proc = children.run(["bsdtar", "-x", "-f", os.fspath(archive), "-C", os.fspath(tmp)], timeout_s,
                        capture_output=True, text=True)
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(f"{archive}: bsdtar could not unpack it: {proc.stderr.strip()[:300]}")
    (tmp / ".unpacked").write_text("ok\n")
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest


def fetch_archive_members(sources: list[Source], store: MediaStore, archive_url: str,
                          allowed_roots: list[Path], **download_options) -> list[DownloadResult]:
    """Fetch and unpack the archive once, then link each ``scheme:<member>`` into the store."""
    archive_id = f"archive:{archive_url}"
    bounds = download_options.get("bounds", Bounds())  # a dataset's archive is large by nature: no size cap
    whole = {**download_options, "bounds": replace(bounds, max_download_mb=None)}
    fetched = download_sources([Source(archive_id, archive_url)], store, allowed_roots, **whole)[0]
    if fetched.status == "failed":
        return [DownloadResult(s.video_id, "failed", f"archive {archive_url}: {fetched.reason}", s.url)
                for s in sources]
    unpacked = unpack_archive(Path(fetched.path), store.root / "archives" / Path(fetched.path).stem)
    members = []
    for s in sources:
        member = s.url.split(":", 1)[1]
        members.append(Source(s.video_id, (unpacked / member).resolve().as_uri(), s.start_seconds, s.end_seconds))
    results = download_sources(members, store, [unpacked], **download_options)
    for r, s in zip(results, sources):
        r.url = s.url
        if r.status == "failed" and r.reason == "file not found":
            r.reason = f"not in the archive: {s.url.split(':', 1)[1]}"
    return results
