"""Parquet schemas of the project's own feature store (no pickles in our store).

Two tables describe a dataset ready for training:

* the *features table*: one row per video, ``video_id, class_name, split, visual, audio``;
* the *classes table*: one row per class, ``class_id, class_name, readable_name,
  clip_text, clap_text``.

``class_name`` is always the folder-style name spelled as in ``all_class.txt``;
``class_id`` is its position in the sorted ``all_class.txt``.  Vector columns are
fixed-size float32 lists whose size is recorded in the schema, so a reader learns
the input sizes from the data, never from constants.

Schema versions (``avgzsl.schema_version`` in the file's metadata): 2 names the visual
column ``visual``; version 1 (no key) called it ``video`` and is migrated on read
(:func:`avgzsl.data.store.read_features`).
"""
from __future__ import annotations

import pyarrow as pa

from avgzsl.names import AUDIO, VISUAL

SCHEMA_VERSION_KEY = "avgzsl.schema_version"
SCHEMA_VERSION = "2"
# Column renames from older schema versions to the current one.
MIGRATIONS: dict[str, dict[str, str]] = {"1": {"video": VISUAL}}


def vector(dim: int) -> pa.DataType:
    return pa.list_(pa.float32(), dim)


def _versioned(fields: list[pa.Field]) -> pa.Schema:
    return pa.schema(fields, metadata={SCHEMA_VERSION_KEY: SCHEMA_VERSION})


def features_schema(visual_dim: int, audio_dim: int) -> pa.Schema:
    return _versioned([
        pa.field("video_id", pa.string(), nullable=False),
        pa.field("class_name", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field(VISUAL, vector(visual_dim), nullable=False),
        pa.field(AUDIO, vector(audio_dim), nullable=False),
    ])


def classes_schema(clip_dim: int, clap_dim: int) -> pa.Schema:
    return _versioned([
        pa.field("class_id", pa.int32(), nullable=False),
        pa.field("class_name", pa.string(), nullable=False),
        pa.field("readable_name", pa.string(), nullable=False),
        pa.field("clip_text", vector(clip_dim), nullable=False),
        pa.field("clap_text", vector(clap_dim), nullable=False),
    ])
