"""Parquet schemas of the project's own feature store (no pickles in our store).

Two tables describe a dataset ready for training:

* the *features table*: one row per video, ``video_id, class_name, split, video, audio``;
* the *classes table*: one row per class, ``class_id, class_name, readable_name,
  clip_text, clap_text``.

``class_name`` is always the folder-style name spelled as in ``all_class.txt``;
``class_id`` is its position in the sorted ``all_class.txt``.  Vector columns are
fixed-size float32 lists whose size is recorded in the schema, so a reader learns
the input sizes from the data, never from constants.
"""
from __future__ import annotations

import pyarrow as pa

# The five per-video splits of the benchmarks' protocol (METHOD.md).
SPLITS: tuple[str, ...] = (
    "stage_1_train",
    "stage_1_val_seen",
    "stage_1_val_unseen",
    "stage_2_test_seen",
    "stage_2_test_unseen",
)
# Class-list files of ``class-split/cls_split`` (the five above plus stage_2_train).
CLASS_LISTS: tuple[str, ...] = SPLITS + ("stage_2_train",)


def vector(dim: int) -> pa.DataType:
    return pa.list_(pa.float32(), dim)


def features_schema(video_dim: int, audio_dim: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("video_id", pa.string(), nullable=False),
            pa.field("class_name", pa.string(), nullable=False),
            pa.field("split", pa.string(), nullable=False),
            pa.field("video", vector(video_dim), nullable=False),
            pa.field("audio", vector(audio_dim), nullable=False),
        ]
    )


def classes_schema(clip_dim: int, clap_dim: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("class_id", pa.int32(), nullable=False),
            pa.field("class_name", pa.string(), nullable=False),
            pa.field("readable_name", pa.string(), nullable=False),
            pa.field("clip_text", vector(clip_dim), nullable=False),
            pa.field("clap_text", vector(clap_dim), nullable=False),
        ]
    )


def vector_dim(schema: pa.Schema, column: str) -> int:
    """Size of a fixed-size vector column, read from the schema."""
    return schema.field(column).type.list_size
