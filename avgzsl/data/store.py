"""Every write of the project is atomic, and every vector column goes through here.

* :func:`temp_path` names a hidden temporary file beside its final path (the one
  naming scheme, so that :func:`is_temp` finds debris a killed run left behind; the
  name carries the writing process's id and host, :func:`temp_owner`, so that debris of
  a dead process can be told from a live writer's file);
  :func:`atomic_path` and :func:`atomic_write` move it into place only when the block
  succeeds, so a reader never sees a half-written file.
* :func:`vectors_to_arrow` / :func:`arrow_to_vectors` convert between (N, D) float32
  matrices and fixed-size-list Parquet columns, without per-row Python.
* :func:`read_features` reads a features table and migrates older schema versions.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from avgzsl.data.schemas import MIGRATIONS, SCHEMA_VERSION, SCHEMA_VERSION_KEY
from avgzsl.data.validate import DataError

TEMP_MARK = ".tmp-"
_OWNER = re.compile(re.escape(TEMP_MARK) + r"(\d+)-([0-9a-f]{6})-")


def host_tag() -> str:
    """Six hex digits naming this machine (pod, container) in temporary names."""
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]


def owner_tag() -> str:
    """``<pid>-<host tag>``: who writes a temporary file (see :func:`temp_owner`)."""
    return f"{os.getpid()}-{host_tag()}"


def temp_path(final: Path) -> Path:
    """A hidden temporary name next to ``final`` that keeps its suffix and names its writer."""
    final = Path(final)
    return final.with_name(f".{final.stem}{TEMP_MARK}{owner_tag()}-{uuid.uuid4().hex[:12]}{final.suffix}")


def temp_owner(path: Path) -> tuple[int, str] | None:
    """(pid, host tag) of the process that made a temporary name, or None (older names carry none)."""
    match = _OWNER.search(Path(path).name)
    return (int(match.group(1)), match.group(2)) if match else None


def is_temp(path: Path) -> bool:
    return path.name.startswith(".") and TEMP_MARK in path.name


def unlink_quiet(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for any writer; it replaces ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(path)
    try:
        yield temp
        os.replace(temp, path)
    finally:
        unlink_quiet(temp)


@contextlib.contextmanager
def atomic_write(path: Path) -> Iterator[IO[bytes]]:
    """Yield a binary file beside ``path``; it replaces ``path`` only if the block succeeds."""
    with atomic_path(path) as temp, open(temp, "wb") as out:
        yield out


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file's contents (hex), read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(chunk):
            digest.update(block)
    return digest.hexdigest()


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
    """Write ``table`` with ``metadata`` merged into its schema metadata (new keys win), each page with its CRC
    (:func:`read_parquet` verifies them: damaged bytes are an error, not silently wrong features)."""
    merged = dict(table.schema.metadata or {})
    merged.update({str(key).encode(): str(value).encode() for key, value in (metadata or {}).items()})
    table = table.replace_schema_metadata(merged or None)
    with atomic_write(path) as out:
        pq.write_table(table, out, write_page_checksum=True)
    return Path(path)


def read_parquet(path: Path, columns: list[str] | None = None) -> pa.Table:
    """A Parquet table, or a :class:`DataError` naming the file (also when a page fails its CRC)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Parquet table not found: {path}")
    try:
        return pq.read_table(path, columns=columns, page_checksum_verification=True)
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(f"{path}: not a readable Parquet file ({error})") from error


def table_metadata(table: pa.Table | pa.Schema) -> dict[str, str]:
    """Schema metadata as ``str → str``."""
    schema = table if isinstance(table, pa.Schema) else table.schema
    return {key.decode(): value.decode() for key, value in (schema.metadata or {}).items()}


def file_metadata(path: Path) -> dict[str, str]:
    """A Parquet file's schema metadata without reading its rows."""
    return table_metadata(pq.read_schema(path))


def read_features(path: Path) -> pa.Table:
    """A features or classes table in the current schema version (older files are migrated)."""
    table = read_parquet(path)
    version = table_metadata(table).get(SCHEMA_VERSION_KEY, "1")
    if version == SCHEMA_VERSION:
        return table
    if version not in MIGRATIONS:
        raise DataError(f"{path}: schema version {version} is newer than this avgzsl ({SCHEMA_VERSION}); "
                        "upgrade avgzsl, or make the table again with this one (`avgzsl reproduce --features-root ...` "
                        "imports published features; `avgzsl run DATASET --until embeddings` extracts)")
    renames = MIGRATIONS[version]
    return table.rename_columns([renames.get(name, name) for name in table.column_names])


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
