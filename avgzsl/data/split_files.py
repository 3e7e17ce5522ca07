"""Fetching a benchmark's class-split files: from the authors' repository at the pinned commit, or a local copy."""
from __future__ import annotations

import http.client
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from avgzsl.data.splits import ALL_CLASS_FILE, DatasetInfo, dataset_info, read_class_splits
from avgzsl.data.store import write_bytes_atomic
from avgzsl.data.validate import DataError
from avgzsl.names import CLASS_LISTS

log = logging.getLogger(__name__)

UPSTREAM_BASE_URL = (
    "https://raw.githubusercontent.com/dkurzend/ClipClap-GZSL/56b8e1b920622c06aaac2b265470d0892c9f8b42/"
)
UPSTREAM_DATASETS_FOLDER = "avgzsl_benchmark_non_averaged_datasets"
BASE_URL_ENV = "AVGZSL_SPLITS_BASE_URL"
RETRY_DELAYS_S: tuple[float, ...] = (0.5, 1.0, 2.0)
HTTP_TIMEOUT_S = 30.0


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
