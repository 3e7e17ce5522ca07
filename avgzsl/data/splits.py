"""Benchmark class splits: dataset facts, class lists and per-video manifests (fetching: split_files.py)."""
from __future__ import annotations

import csv
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from avgzsl.names import (BENCHMARKS, CLASS_LISTS, STAGE_1_TRAIN, STAGE_2_TRAIN, TEST_SEEN, TEST_UNSEEN, VAL_SEEN,
                          VAL_UNSEEN)
from avgzsl.data.validate import DataError, check_disjoint, check_subset, preview, require_dir, require_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetInfo:
    key: str
    upstream_folder: str
    text_stem: str
    names_csv: str


DATASETS: dict[str, DatasetInfo] = {
    "ucf": DatasetInfo("ucf", "UCF", "ucf", "ucf_clip_class_names.csv"),
    "activitynet": DatasetInfo("activitynet", "ActivityNet", "activitynet", "activitynet_w2v_class_names.csv"),
    "vggsound": DatasetInfo("vggsound", "VGGSound", "vggsound", "vggsound_w2v_class_names.csv"),
}
assert tuple(DATASETS) == BENCHMARKS

ALL_CLASS_FILE = "all_class.txt"
# Names-CSV columns holding the human-readable class name, in order of preference.
READABLE_COLUMNS = ("clip_class_name", "manual")


def dataset_info(dataset: str) -> DatasetInfo:
    try:
        return DATASETS[dataset]
    except KeyError:
        raise DataError(f"unknown dataset {dataset!r}; expected one of {sorted(DATASETS)}") from None


@dataclass(frozen=True)
class ClassSplits:
    """Class lists of one benchmark; class id = position in the sorted ``all_class.txt``."""

    all_classes: tuple[str, ...]
    lists: dict[str, tuple[str, ...]]
    readable: dict[str, str]
    dataset: str | None = None
    _id_by_lower: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_id_by_lower", {name.lower(): i for i, name in enumerate(self.all_classes)})

    def find(self, name: str) -> str | None:
        """Canonical spelling of ``name`` (case-insensitive), or None when unknown."""
        class_id = self._id_by_lower.get(name.lower())
        return None if class_id is None else self.all_classes[class_id]

    def class_id(self, name: str) -> int:
        try:
            return self._id_by_lower[name.lower()]
        except KeyError:
            raise DataError(
                f"unknown class {name!r}: not in {ALL_CLASS_FILE} ({len(self.all_classes)} classes)"
            ) from None


def read_name_list(path: Path) -> list[tuple[int, str]]:
    """Non-blank lines of a class-list file as ``(line number, stripped name)``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text ({error})") from error
    return [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1) if line.strip()]


def _canonical_list(path: Path, lookup: dict[str, str]) -> tuple[str, ...]:
    entries = read_name_list(path)
    if not entries:
        raise DataError(f"{path}: empty; expected one class name per line")
    names: list[str] = []
    for number, name in entries:
        canonical = lookup.get(name.lower())
        if canonical is None:
            raise DataError(f"{path}, line {number}: class {name!r} is not in {ALL_CLASS_FILE}")
        if canonical in names:
            raise DataError(f"{path}, line {number}: class {name!r} is listed twice")
        names.append(canonical)
    return tuple(names)


# (unseen list, a list whose classes are trained on): disjoint.  Stage 2 trains on the
# videos of all three stage-1 splits, so its unseen classes may be in none of them.
DISJOINT_LISTS = ((VAL_UNSEEN, STAGE_1_TRAIN), (TEST_UNSEEN, STAGE_2_TRAIN), (TEST_UNSEEN, STAGE_1_TRAIN),
                  (TEST_UNSEEN, VAL_UNSEEN))
# (inner, outer): a subset.
SUBSET_LISTS = ((VAL_SEEN, STAGE_1_TRAIN), (TEST_SEEN, STAGE_2_TRAIN))


def _check_protocol(lists: dict[str, tuple[str, ...]], list_dir: Path) -> None:
    def path(name: str) -> Path:
        return list_dir / f"{name}.txt"

    for unseen, seen in DISJOINT_LISTS:
        check_disjoint(lists[unseen], lists[seen], path(unseen), path(seen))
    for inner, outer in SUBSET_LISTS:
        check_subset(lists[inner], lists[outer], path(inner), path(outer))


def read_class_splits(
    class_split_dir: Path, dataset: str | None = None, split_folder: str = "cls_split"
) -> ClassSplits:
    """Read and validate a ``class-split`` folder (``all_class.txt``, names CSV, ``<split_folder>/*.txt``)."""
    class_split_dir = require_dir(Path(class_split_dir), "class-split folder")
    all_file = require_file(class_split_dir / ALL_CLASS_FILE, "list of all classes")
    entries = read_name_list(all_file)
    if not entries:
        raise DataError(f"{all_file}: empty; expected one class name per line")
    lookup: dict[str, str] = {}
    for number, name in entries:
        if name.lower() in lookup:
            raise DataError(
                f"{all_file}, line {number}: class {name!r} repeats {lookup[name.lower()]!r} "
                "(names are compared case-insensitively)"
            )
        lookup[name.lower()] = name
    list_dir = require_dir(class_split_dir / split_folder, f"class lists '{split_folder}'")
    lists = {
        list_name: _canonical_list(require_file(list_dir / f"{list_name}.txt", f"class list {list_name}"), lookup)
        for list_name in CLASS_LISTS
    }
    _check_protocol(lists, list_dir)
    dataset = dataset or _infer_dataset(class_split_dir)
    return ClassSplits(
        all_classes=tuple(sorted(lookup.values())),
        lists=lists,
        readable=_read_readable_names(class_split_dir, dataset, lookup),
        dataset=dataset,
    )


def _infer_dataset(class_split_dir: Path) -> str | None:
    return next((key for key, info in DATASETS.items() if (class_split_dir / info.names_csv).is_file()), None)


def names_csv_path(class_split_dir: Path, dataset: str | None) -> Path | None:
    """The names CSV of a benchmark, or for a custom dataset any ``*class_names.csv`` (CLIP one first)."""
    if dataset in DATASETS:
        return class_split_dir / DATASETS[dataset].names_csv
    candidates = sorted(class_split_dir.glob("*class_names.csv"), key=lambda path: ("clip" not in path.name, path.name))
    return candidates[0] if candidates else None


def _read_readable_names(class_split_dir: Path, dataset: str | None, lookup: dict[str, str]) -> dict[str, str]:
    readable = {name: name for name in sorted(lookup.values())}
    path = names_csv_path(class_split_dir, dataset)
    if path is None or not path.is_file():
        log.warning("no class-names CSV in %s: prompts use the class names as they are (add a "
                    "<name>_class_names.csv with columns original,manual for readable names)", class_split_dir)
        return readable
    with path.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.DictReader(file)
        columns = reader.fieldnames or []
        readable_column = next((column for column in READABLE_COLUMNS if column in columns), None)
        if "original" not in columns or readable_column is None:
            raise DataError(
                f"{path}: columns {columns}; expected 'original' and one of {list(READABLE_COLUMNS)}"
            )
        named: dict[str, int] = {}
        for number, row in enumerate(reader, 2):
            original = (row.get("original") or "").strip()
            canonical = lookup.get(original.lower())
            if canonical is None:
                raise DataError(f"{path}, line {number}: class {original!r} is not in {ALL_CLASS_FILE}")
            if canonical in named:
                raise DataError(f"{path}, line {number}: class {original!r} repeats line {named[canonical]}")
            named[canonical] = number
            readable[canonical] = (row.get(readable_column) or "").strip() or canonical
    repeated = sorted(name for name, count in Counter(readable.values()).items() if count > 1)
    if repeated:
        raise DataError(f"{path}: readable names {preview(repeated)} are given to more than one class")
    return readable


UnlistedPolicy = Literal["drop", "error"]
_ID_COLUMNS = ("video_id", "filename")
_LABEL_COLUMNS = ("label", "class_name")


def read_video_manifest(
    class_split_dir: Path, split: str, split_folder: str = "cls_split", splits: ClassSplits | None = None,
    unlisted: UnlistedPolicy = "error",
) -> pl.DataFrame:
    """Per-video list of one split as ``video_id, class_name, split`` (+ ``youtube_id, start_seconds``).

    Reads UCF (``filename,label,label_code``), ActivityNet (``filename,label_code,label``),
    VGGSound (``youtube_id,start_seconds,label,split,filename,...``) and custom (``video_id,label``) CSVs.

    Every video's class must be in the split's class list (``<split>.txt``): a video of
    an unseen class in a training split would leak it into training.  The published
    ``stage_2_test_unseen.csv`` of UCF (3 classes, 422 videos) and ActivityNet (2, 147)
    hold videos of classes that are in *no* class list; ``unlisted="drop"`` drops those
    (with a warning), as the authors' class mask does; any other mismatch is an error.
    """
    class_split_dir = Path(class_split_dir)
    splits = splits or read_class_splits(class_split_dir, split_folder=split_folder)
    path = require_file(class_split_dir / split_folder / f"{split}.csv", f"video list of {split}")
    try:
        frame = pl.read_csv(path, infer_schema_length=0)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not a readable CSV ({error})") from error
    id_column = next((column for column in _ID_COLUMNS if column in frame.columns), None)
    label_column = next((column for column in _LABEL_COLUMNS if column in frame.columns), None)
    youtube = "youtube_id" in frame.columns and "start_seconds" in frame.columns
    if label_column is None or (id_column is None and not youtube):
        raise DataError(
            f"{path}: columns {frame.columns}; expected 'filename,label,...', "
            "'youtube_id,start_seconds,label,...' or 'video_id,label'"
        )
    if youtube:
        frame = frame.with_columns(_integer_column(frame, "start_seconds", path))
    # VGGSound names a clip <youtube_id>_<start, 6 digits> when no filename column is given.
    clip_name = pl.format("{}_{}", "youtube_id", pl.col("start_seconds").cast(pl.Utf8).str.zfill(6))
    video_id = pl.col(id_column) if id_column else clip_name
    frame = frame.with_columns(video_id.alias("video_id"), pl.col(label_column).alias("label"))
    _check_cells(frame, path)
    mapping = {label: splits.find(label) for label in frame["label"].unique().to_list()}
    unknown = [label for label, canonical in mapping.items() if canonical is None]
    if unknown:
        line = frame["label"].to_list().index(unknown[0]) + 2
        raise DataError(
            f"{path}, line {line}: class {unknown[0]!r} is not in {ALL_CLASS_FILE} (unknown labels: {preview(unknown)})"
        )
    frame = _check_split_classes(frame.with_columns(pl.col("label").replace_strict(mapping, return_dtype=pl.Utf8)),
                                 path, split, splits, split_folder, unlisted)
    extra = ["youtube_id", "start_seconds"] if youtube else []
    manifest = frame.select(
        "video_id",
        pl.col("label").alias("class_name"),
        pl.lit(split, dtype=pl.Utf8).alias("split"),
        *extra,
    )
    repeated = manifest.filter(pl.col("video_id").is_duplicated())["video_id"].unique(maintain_order=True).to_list()
    if repeated:
        raise DataError(f"{path}: duplicate video ids {preview(repeated)}; each video must occur once")
    return manifest


def _check_split_classes(frame: pl.DataFrame, path: Path, split: str, splits: ClassSplits, split_folder: str,
                         unlisted: UnlistedPolicy) -> pl.DataFrame:
    """Rows whose (canonical) ``label`` is in the split's class list; see :func:`read_video_manifest`."""
    allowed = set(splits.lists[split])
    outside = frame.with_row_index("row").filter(~pl.col("label").is_in(list(allowed)))
    if not outside.height:
        return frame
    listed_in = {name: [list_name for list_name in CLASS_LISTS if name in splits.lists[list_name]]
                 for name in outside["label"].unique().to_list()}
    stray = outside.filter(pl.col("label").is_in([name for name, where in listed_in.items() if where]))
    if stray.height or unlisted == "error":
        first = (stray if stray.height else outside).row(0, named=True)
        where = listed_in[first["label"]]
        why = (f"it is a class of {', '.join(f'{w}.txt' for w in where)}" if where else "it is in no class list")
        raise DataError(
            f"{path}, line {first['row'] + 2}: class {first['label']!r} is not in {split_folder}/{split}.txt ({why}); "
            f"every video of {split}.csv must be of a class listed there, or classes would leak across the "
            f"seen/unseen split ({(stray if stray.height else outside).height} such videos)")
    log.warning("%s: dropping %d videos of classes in no class list: %s", path, outside.height,
                preview(sorted(listed_in)))
    return frame.filter(pl.col("label").is_in(list(allowed)))


def _integer_column(frame: pl.DataFrame, column: str, path: Path) -> pl.Series:
    try:
        return frame[column].str.strip_chars().cast(pl.Int64, strict=True)
    except pl.exceptions.InvalidOperationError as error:
        raise DataError(f"{path}: column {column!r} must hold whole numbers ({error})") from error


def _check_cells(frame: pl.DataFrame, path: Path) -> None:
    for column in ("video_id", "label"):
        blank = frame.with_row_index("row").filter(pl.col(column).is_null() | (pl.col(column).str.strip_chars() == ""))
        if blank.height:
            raise DataError(f"{path}, line {blank['row'][0] + 2}: empty {column}")
