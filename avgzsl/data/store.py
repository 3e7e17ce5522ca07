"""Atomic file writes and conversions between our Parquet tables and numpy."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from avgzsl.data.validate import DataError


@contextlib.contextmanager
def atomic_write(path: Path) -> Iterator[IO[bytes]]:
    """Yield a binary temp file beside ``path``; it replaces ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp_file:
            yield temp_file
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


def write_bytes_atomic(data: bytes, path: Path) -> Path:
    with atomic_write(path) as out:
        out.write(data)
    return Path(path)


def write_text_atomic(text: str, path: Path) -> Path:
    return write_bytes_atomic(text.encode("utf-8"), path)


def write_json_atomic(obj: object, path: Path) -> Path:
    text = json.dumps(obj, indent=2, sort_keys=True, default=_json_default, ensure_ascii=False)
    return write_text_atomic(text + "\n", path)


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (Path, os.PathLike)):
        return os.fspath(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_parquet_atomic(table: pa.Table, path: Path, metadata: dict[str, str] | None = None) -> Path:
    """Write ``table`` with ``metadata`` merged into its schema metadata (new keys win)."""
    merged = dict(table.schema.metadata or {})
    merged.update({str(key).encode(): str(value).encode() for key, value in (metadata or {}).items()})
    table = table.replace_schema_metadata(merged or None)
    with atomic_write(path) as out:
        pq.write_table(table, out)
    return Path(path)


def read_parquet(path: Path) -> pa.Table:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Parquet table not found: {path}")
    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(f"{path}: not a readable Parquet file ({error})") from error


def table_metadata(table: pa.Table) -> dict[str, str]:
    """Schema metadata as ``str → str``."""
    return {key.decode(): value.decode() for key, value in (table.schema.metadata or {}).items()}


def vectors_to_arrow(matrix: np.ndarray) -> pa.FixedSizeListArray:
    """(N, D) matrix → fixed-size-list float32 column, no per-row Python."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1])


def arrow_to_vectors(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Fixed-size-list float32 column → (N, D) float32 matrix (zero-copy for a single chunk)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    dim = column.type.list_size
    values = column.flatten()
    try:
        flat = values.to_numpy(zero_copy_only=True)
    except pa.ArrowInvalid:
        flat = values.to_numpy(zero_copy_only=False)
    return flat.astype(np.float32, copy=False).reshape(-1, dim)


def arrow_to_strings(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(column.to_numpy(zero_copy_only=False).astype(str))


@dataclass(frozen=True)
class FeatureArrays:
    video_id: np.ndarray
    class_name: np.ndarray
    split: np.ndarray
    video: np.ndarray
    audio: np.ndarray


@dataclass(frozen=True)
class ClassArrays:
    class_id: np.ndarray
    class_name: np.ndarray
    readable_name: np.ndarray
    clip_text: np.ndarray
    clap_text: np.ndarray


def features_to_arrays(features: pa.Table) -> FeatureArrays:
    """Features table → numpy: float32 (N, Dv) and (N, Da) matrices, string columns as str arrays."""
    return FeatureArrays(
        video_id=arrow_to_strings(features["video_id"]),
        class_name=arrow_to_strings(features["class_name"]),
        split=arrow_to_strings(features["split"]),
        video=arrow_to_vectors(features["video"]),
        audio=arrow_to_vectors(features["audio"]),
    )


def classes_to_arrays(classes: pa.Table) -> ClassArrays:
    """Classes table → numpy: int64 ids, str names, float32 text matrices."""
    return ClassArrays(
        class_id=classes["class_id"].to_numpy().astype(np.int64),
        class_name=arrow_to_strings(classes["class_name"]),
        readable_name=arrow_to_strings(classes["readable_name"]),
        clip_text=arrow_to_vectors(classes["clip_text"]),
        clap_text=arrow_to_vectors(classes["clap_text"]),
    )
