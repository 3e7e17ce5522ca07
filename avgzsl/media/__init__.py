"""Dagster-free media core: download source videos, split them into the middle frame
(or N evenly spaced frames) and a mono PCM audio track, and keep a ledger per stage.

ffmpeg/ffprobe run as subprocesses with argument lists (never a shell string);
yt-dlp is imported only when a ``youtube:`` source is fetched; decoding for the split
runs in worker processes (:mod:`avgzsl.media.worker`).  The names below are imported
on first use, so that a worker process importing ``avgzsl.media.decode`` loads neither
pyarrow nor the downloaders.
"""
from importlib import import_module

_WHERE = {
    "DownloadResult": "download", "Source": "download", "download_sources": "download", "youtube_url": "download",
    "DOWNLOAD_SCHEMA": "ledger", "SPLIT_SCHEMA": "ledger", "read_ledger": "ledger", "summarize": "ledger",
    "write_ledger": "ledger", "MediaError": "probe", "MediaInfo": "probe", "probe": "probe",
    "probe_many": "probe", "SplitRequest": "split", "SplitResult": "split", "split_videos": "split",
    "frame_times": "timeline", "MediaStore": "store", "media_key": "store",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
