"""Download and splitting settings as a resource (shared by every shard of a run)."""
from typing import Optional

import dagster as dg
from pydantic import Field

from avgzsl.media.shards import MediaSettings
from avgzsl.media.download import DEFAULT_FORMAT, Bounds


class MediaResource(dg.ConfigurableResource):
    """How videos are fetched and split; shards of one run are processed ``parallel_shards`` at a time."""

    retries: int = 3
    backoff_s: float = 1.0
    timeout_s: float = 30.0
    rate_limit: Optional[float] = Field(default=None, description="bytes/s per download (yt-dlp ratelimit too)")
    cookies_file: Optional[str] = Field(default=None, description="cookies.txt for yt-dlp")
    download_workers: int = 4
    ytdlp_format: str = DEFAULT_FORMAT
    split_batch_size: int = Field(default=16, description="videos per ffmpeg process (ffmpeg backend)")
    split_workers: int = Field(default=0, description="decoder processes per shard; 0: the cores shared among "
                                                      "the shards split at once")
    split_backend: str = Field(default="auto", description="auto (pyav when installed, else ffmpeg) | pyav | ffmpeg")
    hwaccel: str = Field(default="auto", description="ffmpeg backend: auto | cuda | none (-hwaccel cuda when a GPU "
                                                     "is present)")
    parallel_shards: int = Field(default=2, description="shards processed at once within a run")
    ucf101_archive_url: str = "https://www.crcv.ucf.edu/data/UCF101/UCF101.rar"
    stall_speed: float = Field(default=1024.0, description="a download slower than this many bytes/s for "
                                                           "stall_time_s is abandoned (curl's --speed-limit)")
    stall_time_s: float = Field(default=30.0, description="see stall_speed (curl's --speed-time)")
    max_download_mb: Optional[float] = Field(default=1024.0, description="a larger video is refused (archives "
                                                                         "are exempt); null: no cap")
    deadline_s: Optional[float] = Field(default=None, description="for all downloads of one shard (predict: of "
                                                                  "its inputs, default 900 s); null: none")

    def settings(self) -> MediaSettings:
        return MediaSettings(retries=self.retries, backoff_s=self.backoff_s, timeout_s=self.timeout_s,
                             rate_limit=self.rate_limit, cookies_file=self.cookies_file,
                             download_workers=self.download_workers, ytdlp_format=self.ytdlp_format,
                             split_batch_size=self.split_batch_size, split_workers=self.split_workers,
                             split_backend=self.split_backend, hwaccel=self.hwaccel,
                             archive_urls={"ucf101": self.ucf101_archive_url},
                             bounds=Bounds(self.stall_speed, self.stall_time_s, self.max_download_mb, self.deadline_s))
