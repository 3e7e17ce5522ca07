"""Dagster-free media core: download source videos, split them into the middle frame
(or N evenly spaced frames) and a mono PCM audio track, and keep a ledger per stage.

ffmpeg/ffprobe run as subprocesses with argument lists (never a shell string);
yt-dlp is imported only when a ``youtube:`` source is fetched.
"""
from .download import DownloadResult, Source, download_sources, youtube_url
from .ledger import DOWNLOAD_SCHEMA, SPLIT_SCHEMA, read_ledger, summarize, write_ledger
from .probe import MediaError, MediaInfo, probe, probe_many
from .split import SplitRequest, SplitResult, frame_times, split_videos
from .store import MediaStore, media_key

__all__ = [
    "DOWNLOAD_SCHEMA", "SPLIT_SCHEMA", "DownloadResult", "MediaError", "MediaInfo", "MediaStore",
    "Source", "SplitRequest", "SplitResult", "download_sources", "frame_times", "media_key", "probe",
    "probe_many", "read_ledger", "split_videos", "summarize", "write_ledger", "youtube_url",
]
