"""Per-shard acquisition: download sources, then split each video into frames and audio.

The Dagster assets call these once per shard; everything a shard did is in its ledgers
under ``data/<dataset>/ledgers/<stage>/<shard>.parquet``.  Both stages first remove the
temporary files a killed run left in the dataset's folder
(:func:`avgzsl.media.store.remove_stale_temps`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from avgzsl.runtime import available_cores

from avgzsl.data.datasets import DatasetSpec, shard_key
from avgzsl.layout import DatasetPaths
from avgzsl.media.archive import ARCHIVE_SCHEMES, fetch_archive_members
from avgzsl.media.download import DEFAULT_FORMAT, Bounds, DownloadResult, Source, cut_at_download, download_sources
from avgzsl.media.ledger import DOWNLOAD_SCHEMA, SPLIT_SCHEMA, read_ledger, summarize, write_ledger
from avgzsl.media.split import SplitRequest, SplitResult, split_videos
from avgzsl.media.store import MediaStore, remove_stale_temps
from avgzsl.outcomes import Outcome



@dataclass(frozen=True)
class MediaSettings:
    retries: int = 3
    backoff_s: float = 1.0
    timeout_s: float = 30.0
    rate_limit: float | None = field(default=None, metadata={"help": "bytes/s per download (yt-dlp ratelimit too)"})
    cookies_file: str | None = field(default=None, metadata={"help": "cookies.txt for yt-dlp"})
    download_workers: int = 4
    ytdlp_format: str = DEFAULT_FORMAT
    split_batch_size: int = field(default=16, metadata={"help": "videos per ffmpeg process (ffmpeg backend)"})
    split_workers: int = field(default=0, metadata={"help": "decoder processes per shard; 0: the cores shared among "
                                                            "the shards split at once"})
    split_backend: str = field(default="auto", metadata={"help": "auto (pyav when installed, else ffmpeg) | pyav | "
                                                                 "ffmpeg (avgzsl.media.split)"})
    hwaccel: str = field(default="auto", metadata={"help": "ffmpeg backend: auto | cuda | none (-hwaccel cuda when a "
                                                           "GPU is present)"})
    shards_at_once: int = 1  # shards of the run split at the same time (they share the cores)
    archive_urls: dict[str, str] = field(default_factory=lambda: dict(ARCHIVE_SCHEMES),
                                         metadata={"help": "archive URL per scheme (ucf101: UCF101.rar)"})
    bounds: Bounds = Bounds()  # stall speed, size cap, deadline of every network read

    def split_cores(self) -> int:
        return max(1, available_cores() // max(1, self.shards_at_once))

    def download_options(self) -> dict:
        return {"retries": self.retries, "backoff_s": self.backoff_s, "timeout_s": self.timeout_s,
                "rate_limit": self.rate_limit, "cookies_file": self.cookies_file,
                "max_workers": self.download_workers, "ytdlp_format": self.ytdlp_format, "bounds": self.bounds}

    def split_options(self) -> dict:
        return {"batch_size": self.split_batch_size, "max_workers": self.split_workers,
                "backend": self.split_backend, "hwaccel": self.hwaccel, "cores": self.split_cores()}


def download_shard(spec: DatasetSpec, paths: DatasetPaths, shard: int, settings: MediaSettings) -> list[DownloadResult]:
    """Fetch every source of the shard (a rerun fetches only what is missing)."""
    rows = paths.shard_rows(shard).to_dicts()
    remove_stale_temps(paths.root)
    store = MediaStore(paths.media)
    roots = [Path(r) for r in spec.allowed_roots]
    by_scheme: dict[str, list[Source]] = {}
    for r in rows:
        scheme = r["url"].split(":", 1)[0] if r["url"] else ""
        by_scheme.setdefault(scheme if scheme in settings.archive_urls else "", []).append(
            Source(r["video_id"], r["url"] or "", r["start_seconds"], r["end_seconds"]))
    results: dict[str, DownloadResult] = {}
    for scheme, sources in by_scheme.items():
        if scheme:
            got = fetch_archive_members(sources, store, settings.archive_urls[scheme], roots,
                                        **settings.download_options())
        else:
            got = download_sources(sources, store, roots, **settings.download_options())
        results.update((r.video_id, r) for r in got)
    ordered = [results[r["video_id"]] for r in rows]
    write_ledger(ordered, paths.ledger("download", shard_key(spec.name, shard)), DOWNLOAD_SCHEMA)
    return ordered


def split_shard(spec: DatasetSpec, paths: DatasetPaths, shard: int, settings: MediaSettings) -> tuple[list[SplitResult], int]:
    """Frames and audio of every downloaded video of the shard; also the count not downloaded.

    The split ledger is rewritten with one row per video downloaded now: a video that
    failed its download since (or left the shard) loses its old row, so its old media
    is not encoded.  A row's segment is taken here unless the download already cut it
    (``youtube:``); the download ledger's hash of each file is its input hash (it is
    not read twice).
    """
    key = shard_key(spec.name, shard)
    ledger = paths.ledger("download", key)
    if not ledger.exists():
        raise FileNotFoundError(f"{ledger} is missing: download shard {key} first "
                                f"(`avgzsl run DATASET --until download --shards {shard}`)")
    remove_stale_temps(paths.root)
    downloads = read_ledger(ledger)
    ready = [SplitRequest(r["video_id"], r["path"], *((None, None) if cut_at_download(r.get("url") or "") else
                                                      (r.get("start_seconds"), r.get("end_seconds"))), r.get("sha256"))
             for r in downloads if r["status"] in ("ok", "skipped") and r["path"]]
    split_ledger = paths.ledger("split", key)
    results = split_videos(ready, MediaStore(paths.media), sample_rate=spec.sample_rate, n_frames=spec.n_frames,
                           frame_policy=spec.frame_policy, previous=read_ledger(split_ledger),
                           **settings.split_options())
    write_ledger(results, split_ledger, SPLIT_SCHEMA)
    return results, len(downloads) - len(ready)


@dataclass(frozen=True)
class LedgerSummary(Outcome):
    """Videos of a media stage over some shards, by status, and the commonest reasons (failures first)."""

    ok: int
    failed: int
    skipped: int
    ledger: str | None  # the stage's ledger folder
    store: str  # the media store
    top_reasons: list  # [reason, videos] pairs

    @property
    def total(self) -> int:
        return self.ok + self.failed + self.skipped


def stage_summary(paths: DatasetPaths, stage: str, shards: list[str]) -> LedgerSummary:
    """Counts over the given shards' ledgers."""
    rows = [row for s in shards if paths.ledger(stage, s).exists() for row in read_ledger(paths.ledger(stage, s))]
    summary = summarize(rows)
    return LedgerSummary(summary["ok"], summary["failed"], summary["skipped"],
                         str(paths.ledger(stage, shards[0]).parent) if shards else None, str(paths.media),
                         [list(r) for r in summary["top_reasons"][:5]])
