"""Benchmark class splits: dataset facts, class lists, per-video manifests, and fetching them."""
from __future__ import annotations

import csv
import http.client
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from avgzsl.data.schemas import CLASS_LISTS
from avgzsl.data.store import write_bytes_atomic
from avgzsl.data.validate import DataError, check_disjoint, check_subset, preview, require_dir, require_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetInfo:
    key: str
    upstream_folder: str
    text_stem: str
    names_csv: str
    lr: float
    epochs: int


DATASETS: dict[str, DatasetInfo] = {
    "ucf": DatasetInfo("ucf", "UCF", "ucf", "ucf_clip_class_names.csv", 7e-5, 20),
    "activitynet": DatasetInfo(
        "activitynet", "ActivityNet", "activitynet", "activitynet_w2v_class_names.csv", 1e-4, 15
    ),
    "vggsound": DatasetInfo("vggsound", "VGGSound", "vggsound", "vggsound_w2v_class_names.csv", 1e-4, 15),
}

ALL_CLASS_FILE = "all_class.txt"
# Names-CSV columns holding the human-readable class name, in order of preference.
READABLE_COLUMNS = ("clip_class_name", "manual")
UPSTREAM_BASE_URL = (
    "https://raw.githubusercontent.com/dkurzend/ClipClap-GZSL/56b8e1b920622c06aaac2b265470d0892c9f8b42/"
)
UPSTREAM_DATASETS_FOLDER = "avgzsl_benchmark_non_averaged_datasets"
BASE_URL_ENV = "AVGZSL_SPLITS_BASE_URL"
RETRY_DELAYS_S: tuple[float, ...] = (0.5, 1.0, 2.0)
HTTP_TIMEOUT_S = 30.0


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

    def canonical(self, name: str) -> str:
        return self.all_classes[self.class_id(name)]

    def ids(self, list_name: str) -> np.ndarray:
        return np.array(sorted(self.class_id(name) for name in self.lists[list_name]), dtype=np.int64)

    def readable_name(self, name: str) -> str:
        return self.readable[self.canonical(name)]


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


def _check_protocol(lists: dict[str, tuple[str, ...]], list_dir: Path) -> None:
    def path(name: str) -> Path:
        return list_dir / f"{name}.txt"

    for unseen, seen in (("stage_1_val_unseen", "stage_1_train"), ("stage_2_test_unseen", "stage_2_train")):
        check_disjoint(lists[unseen], lists[seen], path(unseen), path(seen))
    for inner, outer in (("stage_1_val_seen", "stage_1_train"), ("stage_2_test_seen", "stage_2_train")):
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
        log.warning("no class-names CSV in %s; readable names fall back to the class names", class_split_dir)
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


_ID_COLUMNS = ("video_id", "filename")
_LABEL_COLUMNS = ("label", "class_name")


def read_video_manifest(
    class_split_dir: Path, split: str, split_folder: str = "cls_split", splits: ClassSplits | None = None
) -> pl.DataFrame:
    """Per-video list of one split as ``video_id, class_name, split`` (+ ``youtube_id, start_seconds``).

    Reads UCF (``filename,label,label_code``), ActivityNet (``filename,label_code,label``),
    VGGSound (``youtube_id,start_seconds,label,split,filename,...``) and custom (``video_id,label``) CSVs.
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
    extra = ["youtube_id", "start_seconds"] if youtube else []
    manifest = frame.select(
        "video_id",
        pl.col("label").replace_strict(mapping, return_dtype=pl.Utf8).alias("class_name"),
        pl.lit(split, dtype=pl.Utf8).alias("split"),
        *extra,
    )
    repeated = manifest.filter(pl.col("video_id").is_duplicated())["video_id"].unique(maintain_order=True).to_list()
    if repeated:
        raise DataError(f"{path}: duplicate video ids {preview(repeated)}; each video must occur once")
    return manifest


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


@dataclass(frozen=True)
class FetchResult:
    path: Path
    downloaded: tuple[str, ...]
    already_present: tuple[str, ...]
    missing: tuple[str, ...]


class FetchError(DataError):
    """A class-split file could not be obtained."""


def class_split_files(dataset: str, split_folder: str = "cls_split") -> list[tuple[str, bool]]:
    """``(path relative to class-split/, required)`` for every file of a benchmark's split."""
    info = dataset_info(dataset)
    files = [(ALL_CLASS_FILE, True), (info.names_csv, False)]
    for list_name in CLASS_LISTS:
        files += [(f"{split_folder}/{list_name}.txt", True), (f"{split_folder}/{list_name}.csv", False)]
    return files


def fetch_class_splits(dataset: str, dest: Path, source: Path | str | None = None) -> Path:
    """Local ``dest/class-split`` folder of ``dataset``: copied from a local ``source`` or downloaded."""
    return obtain_class_splits(dataset, dest, source).path


def obtain_class_splits(dataset: str, dest: Path, source: Path | str | None = None) -> FetchResult:
    """Like :func:`fetch_class_splits`, reporting what was fetched (downloaded or copied), what was
    already there (downloads skip present files; local copies always refresh), and which optional
    files the source lacks."""
    target = Path(dest) / "class-split"
    info = dataset_info(dataset)
    remote = source is None or str(source).startswith(("http://", "https://"))
    if remote:
        base = str(source or os.environ.get(BASE_URL_ENV) or UPSTREAM_BASE_URL).rstrip("/")
        origin = f"{base}/{UPSTREAM_DATASETS_FOLDER}/{info.upstream_folder}/class-split"
        read_file = _remote_reader(origin)
    else:
        local = _local_class_split_dir(Path(source), info)
        origin = str(local)
        read_class_splits(local, dataset)
        if local.resolve() == target.resolve():
            return FetchResult(target, (), tuple(name for name, _ in class_split_files(dataset)), ())
        read_file = _local_reader(local)
    downloaded, present, missing = [], [], []
    for relative, required in class_split_files(dataset):
        if remote and (target / relative).is_file():
            present.append(relative)
            continue
        data = read_file(relative)
        if data is None:
            if required:
                raise FetchError(f"{relative} of {info.upstream_folder}/class-split is missing from {origin}")
            log.warning("%s/class-split/%s is not available; continuing without it", info.upstream_folder, relative)
            missing.append(relative)
            continue
        write_bytes_atomic(data, target / relative)
        downloaded.append(relative)
    read_class_splits(target, dataset)
    return FetchResult(target, tuple(downloaded), tuple(present), tuple(missing))


def _remote_reader(folder_url: str) -> Callable[[str], bytes | None]:
    def read(relative: str) -> bytes | None:
        return download(f"{folder_url}/{urllib.parse.quote(relative)}")

    return read


def _local_reader(folder: Path) -> Callable[[str], bytes | None]:
    def read(relative: str) -> bytes | None:
        path = folder / relative
        return path.read_bytes() if path.is_file() else None

    return read


def _local_class_split_dir(source: Path, info: DatasetInfo) -> Path:
    candidates = [
        source,
        source / "class-split",
        source / info.upstream_folder / "class-split",
        source / UPSTREAM_DATASETS_FOLDER / info.upstream_folder / "class-split",
    ]
    for candidate in candidates:
        if (candidate / ALL_CLASS_FILE).is_file():
            return candidate
    raise DataError(
        f"no {ALL_CLASS_FILE} under {source}: expected a class-split folder, or "
        f"{source}/{info.upstream_folder}/class-split"
    )


def download(url: str) -> bytes | None:
    """GET ``url``; None on 404/410; retries 5xx, 429 and network errors with backoff."""
    problem = ""
    for delay in (*RETRY_DELAYS_S, None):
        try:
            with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            if error.code in (404, 410):
                return None
            if error.code < 500 and error.code != 429:
                raise FetchError(f"{url}: HTTP {error.code} {error.reason}") from error
            problem = f"HTTP {error.code} {error.reason}"
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            problem = f"{type(error).__name__}: {error}"
        if delay is None:
            break
        log.info("retrying %s in %.1f s after %s", url, delay, problem)
        time.sleep(delay)
    raise FetchError(
        f"{url}: failed after {len(RETRY_DELAYS_S) + 1} attempts ({problem}); check the network or "
        "pass a local copy of the class-split folder as source"
    )
