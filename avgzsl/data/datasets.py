"""What a dataset is made of: its spec (benchmark or custom folder) and its per-video manifest.

A custom dataset is a folder holding ``dataset.yaml`` (only ``name`` is required),
``class-split/`` in the benchmarks' layout (per-video CSVs with at least
``video_id,label``) and ``sources.csv`` (``video_id,url,start_seconds,end_seconds``;
url: http(s), ``file://`` or ``youtube:<id>``; times optional).
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl
import yaml

from avgzsl.names import DEFAULT_FRAME_POLICY, FRAME_POLICIES, SPLITS
from avgzsl.data.splits import DATASETS, read_class_splits, read_video_manifest
from avgzsl.data.validate import DataError
from avgzsl.errors import OptionError

VGGSOUND_CLIP_SECONDS = 10
SPEC_KEYS = {"name", "sample_rate", "n_frames", "frame_policy", "shard_size", "allowed_roots", "annotations"}
MANIFEST_COLUMNS = ["video_id", "class_name", "split", "url", "start_seconds", "end_seconds", "shard"]


@dataclass(frozen=True)
class DatasetSpec:
    """How to acquire and split one dataset's videos."""

    name: str
    benchmark: str | None = None  # ucf | activitynet | vggsound, or None for a custom folder
    root: str | None = None  # the custom dataset folder
    sample_rate: int = 48000  # laion_clap's rate
    n_frames: int = 1  # the middle frame, or N evenly spaced frames
    frame_policy: str = DEFAULT_FRAME_POLICY  # exact (the authors' frame) | keyframe (see avgzsl.names)
    shard_size: int = 64
    allowed_roots: tuple[str, ...] = field(default_factory=tuple)  # folders file:// sources may read
    annotations: str | None = None  # ActivityNet: the annotation JSON with segment times

    def as_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "DatasetSpec":
        raw = json.loads(text)
        raw["allowed_roots"] = tuple(raw.get("allowed_roots") or ())
        return cls(**raw)  # a spec written before frame_policy existed gets the default

    def validate(self) -> "DatasetSpec":
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.]*", self.name):
            raise DataError(f"dataset name {self.name!r}: use letters, digits, '_' and '.' (it names partitions)")
        if self.sample_rate < 8000 or self.sample_rate > 192000:
            raise DataError(f"sample_rate {self.sample_rate}: expected 8000..192000 Hz")
        if not 1 <= self.n_frames <= 64:
            raise DataError(f"n_frames {self.n_frames}: expected 1..64")
        if self.frame_policy not in FRAME_POLICIES:
            raise DataError(f"frame_policy {self.frame_policy!r}: expected one of {', '.join(FRAME_POLICIES)}")
        if self.shard_size < 1:
            raise DataError(f"shard_size {self.shard_size}: expected ≥ 1")
        return self


def load_dataset_spec(dataset: str | Path, **overrides) -> DatasetSpec:
    """A benchmark key (``ucf``…) or a custom dataset folder holding ``dataset.yaml``."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if str(dataset) in DATASETS:
        return DatasetSpec(**{"name": str(dataset), "benchmark": str(dataset), **given}).validate()
    folder = Path(dataset).expanduser().resolve()
    spec_file = folder / "dataset.yaml"
    if not spec_file.is_file():
        raise DataError(f"{dataset}: neither a benchmark ({', '.join(DATASETS)}) nor a folder with dataset.yaml")
    try:
        raw = yaml.safe_load(spec_file.read_text()) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise DataError(f"{spec_file}: not valid YAML ({' '.join(str(error).split())})") from error
    if not isinstance(raw, dict) or "name" not in raw:
        raise DataError(f"{spec_file}: expected a mapping with at least 'name: <dataset name>'")
    unknown = sorted(set(raw) - SPEC_KEYS)
    if unknown:
        raise DataError(f"{spec_file}: unknown keys {unknown}; allowed: {sorted(SPEC_KEYS)}")
    for key, value in raw.items():
        _check_type(spec_file, key, value)
    roots = tuple(str((folder / r).resolve()) for r in raw.pop("allowed_roots", None) or ()) + (str(folder),)
    try:
        return DatasetSpec(**{**raw, "root": str(folder), "allowed_roots": roots, **given}).validate()
    except DataError as error:
        raise DataError(f"{spec_file}: {error}") from None


# dataset.yaml: each key's type, as (check, what the message asks for).
_SPEC_TYPES = {
    "name": (lambda v: isinstance(v, str), "a text"),
    "sample_rate": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number (Hz)"),
    "n_frames": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    "shard_size": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    "frame_policy": (lambda v: isinstance(v, str), "a text (exact | keyframe)"),
    "allowed_roots": (lambda v: isinstance(v, list) and all(isinstance(r, str) for r in v), "a list of folders"),
    "annotations": (lambda v: isinstance(v, str), "a file path"),
}


def _check_type(spec_file: Path, key: str, value) -> None:
    check, what = _SPEC_TYPES[key]
    if not check(value):
        raise DataError(f"{spec_file}: {key} must be {what}, got {value!r}")


def _custom_sources(spec: DatasetSpec) -> pl.DataFrame:
    path = Path(spec.root) / "sources.csv"
    if not path.is_file():
        raise DataError(f"{path} is missing: a custom dataset lists its videos' sources there")
    frame = pl.read_csv(path, infer_schema_length=0)
    missing = {"video_id", "url"} - set(frame.columns)
    if missing:
        raise DataError(f"{path}: missing columns {sorted(missing)}; expected video_id,url[,start_seconds,end_seconds]")
    for column in ("start_seconds", "end_seconds"):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.Utf8).alias(column))
    try:
        frame = frame.with_columns(pl.col("start_seconds", "end_seconds").cast(pl.Float64, strict=True))
    except pl.exceptions.PolarsError as error:
        raise DataError(f"{path}: start_seconds/end_seconds must be numbers ({error})") from error
    dup = frame.filter(pl.col("video_id").is_duplicated())["video_id"].to_list()
    if dup:
        raise DataError(f"{path}: video ids listed twice: {dup[:5]}")
    return frame.select("video_id", "url", "start_seconds", "end_seconds")


def _activitynet_segments(spec: DatasetSpec) -> dict[str, tuple[float, float]]:
    """``<youtube_id>_<n>`` → the n-th annotated segment, from the annotation JSON the user supplies."""
    if not spec.annotations:
        return {}
    data = json.loads(Path(spec.annotations).read_text())
    out = {}
    for youtube_id, entry in data.get("database", {}).items():
        for n, note in enumerate(entry.get("annotations", [])):
            start, end = note["segment"]
            out[f"{youtube_id}_{n}"] = (float(start), float(end))
    return out


def _benchmark_sources(spec: DatasetSpec, videos: pl.DataFrame) -> pl.DataFrame:
    if spec.benchmark == "vggsound":
        return videos.select("video_id", pl.format("youtube:{}", "youtube_id").alias("url"),
                             pl.col("start_seconds").cast(pl.Float64),
                             (pl.col("start_seconds") + VGGSOUND_CLIP_SECONDS).cast(pl.Float64).alias("end_seconds"))
    if spec.benchmark == "activitynet":
        segments = _activitynet_segments(spec)
        ids = videos["video_id"].to_list()
        return pl.DataFrame({
            "video_id": ids,
            "url": [f"youtube:{v.rsplit('_', 1)[0]}" for v in ids],
            "start_seconds": [segments.get(v, (None, None))[0] for v in ids],
            "end_seconds": [segments.get(v, (None, None))[1] for v in ids],
        }, schema={"video_id": pl.Utf8, "url": pl.Utf8, "start_seconds": pl.Float64, "end_seconds": pl.Float64})
    # UCF101: members of the official archive, UCF-101/<Class>/<video>.avi
    return videos.select("video_id", pl.format("ucf101:UCF-101/{}/{}.avi", "class_name", "video_id").alias("url"),
                         pl.lit(None, dtype=pl.Float64).alias("start_seconds"),
                         pl.lit(None, dtype=pl.Float64).alias("end_seconds"))


def build_manifest(spec: DatasetSpec, class_split_dir: Path, split_folder: str = "cls_split",
                   previous: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per video of the protocol's five splits, with its source and shard.

    ``previous``: the stored manifest (``video_id, shard``), whose assignment is kept
    (:func:`assign_shards`); None cuts shards afresh.
    """
    splits = read_class_splits(class_split_dir, dataset=spec.benchmark, split_folder=split_folder)
    # The benchmarks' published CSVs list some videos of classes in no class list: dropped, as the authors do.
    unlisted = "drop" if spec.benchmark else "error"
    videos = pl.concat([read_video_manifest(class_split_dir, s, split_folder, splits, unlisted) for s in SPLITS],
                       how="diagonal_relaxed")
    if spec.benchmark:
        sources = _benchmark_sources(spec, videos)
    else:
        sources = _custom_sources(spec)
        missing = set(videos["video_id"].to_list()) - set(sources["video_id"].to_list())
        if missing:
            raise DataError(f"{Path(spec.root) / 'sources.csv'}: no source for videos {sorted(missing)[:5]}")
    manifest = (videos.select("video_id", "class_name", "split")
                .join(sources, on="video_id", how="left").sort("split", "video_id"))
    return assign_shards(manifest, spec.shard_size, previous).select(MANIFEST_COLUMNS)


def assign_shards(manifest: pl.DataFrame, shard_size: int, previous: pl.DataFrame | None = None) -> pl.DataFrame:
    """Add each video's ``shard``: stable, so that a grown dataset processes only what is new.

    A video keeps the shard ``previous`` gave it, whatever else is added or removed
    (a shard whose videos all went away is gone; its number is not reused).  New
    videos, in the manifest's order (split, then id), first fill the last shard up to
    ``shard_size`` (if it still holds videos) and then open new shards: adding videos never
    moves another, recomputes at most one existing shard (the last), and keeps shards
    at most ``shard_size`` videos.  Without ``previous`` (a new dataset, or one whose
    ``shard_size`` changed) the videos are cut into shards of ``shard_size`` in order.

    A hash of the video id would also be stable, but its shards would grow without
    bound as a dataset grows (their number is fixed), or move videos when it changes.
    """
    if previous is None or previous.is_empty():
        return manifest.with_columns((pl.int_range(pl.len()) // shard_size).cast(pl.Int32).alias("shard"))
    kept = manifest.join(previous.select("video_id", pl.col("shard").cast(pl.Int32)), on="video_id", how="left",
                         maintain_order="left")
    if not kept["shard"].is_null().any():
        return kept
    last = int(previous["shard"].max())
    in_last = kept.filter(pl.col("shard") == last).height
    room = max(0, shard_size - in_last) if in_last else 0  # a shard that is gone stays gone
    shards, added = kept["shard"].to_list(), 0
    for i, shard in enumerate(shards):
        if shard is None:
            shards[i] = last if added < room else last + 1 + (added - room) // shard_size
            added += 1
    return kept.with_columns(pl.Series("shard", shards, dtype=pl.Int32))


def shard_key(dataset: str, shard: int) -> str:
    return f"{dataset}-{shard:04d}"


def parse_shard_range(text: str | None) -> tuple[int, int] | None:
    """``--shards``: ``a..b`` (inclusive shard numbers) or ``a`` as (first, last); None for all shards.

    Checked before any work: a malformed or reversed range is an :class:`OptionError`.
    """
    if not text:
        return None
    first, dots, last = text.strip().partition("..")
    try:
        lo, hi = int(first), int(last if dots else first)
    except ValueError:
        raise OptionError(f"--shards {text!r}: expected 'a..b' or 'a' (shard numbers, e.g. 0..3)") from None
    if lo < 0:
        raise OptionError(f"--shards {text}: shard numbers start at 0")
    if lo > hi:
        raise OptionError(f"--shards {text}: the range is reversed (first {lo} > last {hi}); did you mean {hi}..{lo}?")
    return lo, hi


def parse_shard_key(key: str) -> tuple[str, int]:
    dataset, _, index = key.rpartition("-")
    if not dataset or not index.isdigit():
        raise ValueError(f"{key!r} is not a shard key '<dataset>-<NNNN>'")
    return dataset, int(index)
