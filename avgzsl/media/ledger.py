"""Ledgers: one Parquet row per video saying what a media stage did with it.

Every ledger has ``video_id, status, reason, elapsed_s``; ``status`` is ``ok``,
``failed`` or ``skipped`` (already done, input unchanged).  Stage columns:

* split (``SPLIT_SCHEMA``): input_path, input_sha256, bytes, duration_s, has_audio,
  frame_paths (list of strings), audio_path, sample_rate, n_frames, and (added later,
  null in older ledgers) frame_policy (``exact`` | ``keyframe``; null means exact),
  start_seconds, end_seconds (the segment taken from the file; null: all of it; a
  ``youtube:`` source's segment is cut at download and not repeated here) and decoder
  (``pyav`` | ``ffmpeg`` | ``ffmpeg+cuda``);
* download (``DOWNLOAD_SCHEMA``): url, start_seconds, end_seconds, path, sha256,
  bytes, attempts.

``write_ledger`` writes atomically (temporary file in the same folder, then
``os.replace``); rows may be dicts or dataclasses (``SplitResult``,
``DownloadResult``); columns a row lacks are null, unknown keys are rejected.
"""
from __future__ import annotations

import dataclasses
import os
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Mapping

import pyarrow as pa

from avgzsl.data.store import read_parquet, write_parquet_atomic

STATUSES = ("ok", "failed", "skipped")

_BASE = [
    pa.field("video_id", pa.string(), nullable=False),
    pa.field("status", pa.string(), nullable=False),
    pa.field("reason", pa.string()),
    pa.field("elapsed_s", pa.float64()),
]
BASE_SCHEMA = pa.schema(_BASE, metadata={b"avgzsl.ledger": b"base"})
SPLIT_SCHEMA = pa.schema(
    _BASE
    + [
        pa.field("input_path", pa.string()),
        pa.field("input_sha256", pa.string()),
        pa.field("bytes", pa.int64()),
        pa.field("duration_s", pa.float64()),
        pa.field("has_audio", pa.bool_()),
        pa.field("frame_paths", pa.list_(pa.string())),
        pa.field("audio_path", pa.string()),
        pa.field("sample_rate", pa.int32()),
        pa.field("n_frames", pa.int32()),
        pa.field("frame_policy", pa.string()),
        pa.field("start_seconds", pa.float64()),
        pa.field("end_seconds", pa.float64()),
        pa.field("decoder", pa.string()),
    ],
    metadata={b"avgzsl.ledger": b"split"},
)
DOWNLOAD_SCHEMA = pa.schema(
    _BASE
    + [
        pa.field("url", pa.string()),
        pa.field("start_seconds", pa.float64()),
        pa.field("end_seconds", pa.float64()),
        pa.field("path", pa.string()),
        pa.field("sha256", pa.string()),
        pa.field("bytes", pa.int64()),
        pa.field("attempts", pa.int32()),
    ],
    metadata={b"avgzsl.ledger": b"download"},
)


def as_row(row: Any) -> dict:
    if isinstance(row, Mapping):
        return dict(row)
    if hasattr(row, "to_row"):
        return row.to_row()
    if dataclasses.is_dataclass(row):
        return dataclasses.asdict(row)
    raise TypeError(f"cannot make a ledger row of {type(row).__name__}")


def infer_schema(rows: list[dict]) -> pa.Schema:
    keys = set().union(*(r.keys() for r in rows)) if rows else set()
    if "frame_paths" in keys or "input_sha256" in keys:
        return SPLIT_SCHEMA
    if "url" in keys:
        return DOWNLOAD_SCHEMA
    return BASE_SCHEMA


def to_table(rows: Iterable[Any], schema: pa.Schema | None = None) -> pa.Table:
    dict_rows = [as_row(r) for r in rows]
    schema = schema or infer_schema(dict_rows)
    names = set(schema.names)
    for r in dict_rows:
        extra = set(r) - names
        if extra:
            raise ValueError(f"ledger row has columns not in the schema: {sorted(extra)}")
        if r.get("status") not in STATUSES:
            raise ValueError(f"bad status {r.get('status')!r} for {r.get('video_id')!r}")
        if r.get("reason") is None:
            r["reason"] = ""
    cols = {
        f.name: pa.array([r.get(f.name) for r in dict_rows], type=f.type) for f in schema
    }
    return pa.Table.from_pydict(cols, schema=schema)


def write_ledger(rows: Iterable[Any], path: str | os.PathLike, schema: pa.Schema | None = None) -> Path:
    """Write ``rows`` to ``path`` as Parquet, atomically."""
    return write_parquet_atomic(to_table(rows, schema), Path(path))


def read_ledger(path: str | os.PathLike) -> list[dict]:
    """Rows of a ledger, or ``[]`` when it does not exist."""
    path = Path(path)
    if not path.exists():
        return []
    return read_parquet(path).to_pylist()


def summarize(rows: Iterable[Any], top: int = 10) -> dict:
    """``{'ok': n, 'failed': n, 'skipped': n, 'total': n, 'top_reasons': [(reason, n), ...]}``.

    ``top_reasons`` counts the non-empty reasons of failed rows first, then those
    of ok rows (e.g. 'no audio stream'), most frequent first.
    """
    rs = [as_row(r) for r in rows]
    counts = Counter(r["status"] for r in rs)
    failed = Counter(r.get("reason") or "unknown" for r in rs if r["status"] == "failed")
    other = Counter(r["reason"] for r in rs if r["status"] == "ok" and r.get("reason"))
    reasons = failed.most_common() + other.most_common()
    return {
        "ok": counts.get("ok", 0),
        "failed": counts.get("failed", 0),
        "skipped": counts.get("skipped", 0),
        "total": len(rs),
        "top_reasons": reasons[:top],
    }
