"""The dataset's feature tables from per-shard feature files and class text embeddings.

``features.parquet`` holds one row per video that has both a visual and an audio
vector; ``classes.parquet`` one row per class (schemas: :mod:`avgzsl.data.schemas`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from avgzsl.data.schemas import classes_schema, features_schema
from avgzsl.data.store import arrow_to_vectors, read_parquet, table_metadata, vectors_to_arrow, write_parquet_atomic
from avgzsl.features.fingerprint import FINGERPRINT_KEY
from avgzsl.names import AUDIO, VISUAL
from avgzsl.outcomes import Outcome


def read_vectors(paths: list[Path], members: list[set[str]] | None = None
                 ) -> tuple[list[str], np.ndarray, dict[str, str]]:
    """Concatenate shard feature files: ids, (N, D) matrix, the first file's metadata.

    ``members``: per file, the videos its shard holds now (the manifest's); rows of
    other videos (a file not yet recomputed after its shard changed) are left out, so
    no video is read twice.
    """
    tables = []
    for path, keep in zip(paths, members or [None] * len(paths)):
        if path.exists():
            table = read_parquet(path)
            if keep is not None:
                table = table.filter(pc.is_in(table.column("video_id"), value_set=pa.array(sorted(keep), pa.string())))
            tables.append(table)
    if not tables:
        return [], np.zeros((0, 0), dtype=np.float32), {}
    meta = {k: v for k, v in table_metadata(tables[0]).items() if k != FINGERPRINT_KEY}
    table = pa.concat_tables(tables)
    return table.column("video_id").to_pylist(), arrow_to_vectors(table.column("vector")), meta


@dataclass(frozen=True)
class FeatureTablesSummary(Outcome):
    """The dataset's features table as written: videos with both vectors, manifest videos without."""

    path: Path
    videos: int
    missing: int
    metadata: dict  # the table's metadata: ``<stream>.<key>`` of each stream's encoder

    def weights(self, stream: str) -> str:
        return self.metadata.get(f"{stream}.weights", "")


def assemble_features(manifest_rows: list[dict], visual: tuple, audio: tuple, out_path: Path) -> FeatureTablesSummary:
    """The features table (schemas.features_schema) of the videos that have both vectors."""
    v_ids, v_mat, v_meta = visual
    a_ids, a_mat, a_meta = audio
    v_index = {vid: i for i, vid in enumerate(v_ids)}
    a_index = {vid: i for i, vid in enumerate(a_ids)}
    rows = [r for r in manifest_rows if r["video_id"] in v_index and r["video_id"] in a_index]
    if not rows:
        raise ValueError("no video has both a visual and an audio feature: run the feature stages first")
    table = pa.table({
        "video_id": [r["video_id"] for r in rows], "class_name": [r["class_name"] for r in rows],
        "split": [r["split"] for r in rows],
        VISUAL: vectors_to_arrow(v_mat[[v_index[r["video_id"]] for r in rows]]),
        AUDIO: vectors_to_arrow(a_mat[[a_index[r["video_id"]] for r in rows]]),
    }, schema=features_schema(v_mat.shape[1], a_mat.shape[1]))
    meta = {**{f"{VISUAL}.{k}": v for k, v in v_meta.items()}, **{f"{AUDIO}.{k}": v for k, v in a_meta.items()}}
    write_parquet_atomic(table, out_path, metadata=meta)
    return FeatureTablesSummary(out_path, len(rows), len(manifest_rows) - len(rows), meta)


def classes_table(class_names: list[str], readable: list[str], clip_text: np.ndarray, clap_text: np.ndarray) -> pa.Table:
    """The classes table (schemas.classes_schema); ids are positions in the sorted class list."""
    order = sorted(range(len(class_names)), key=class_names.__getitem__)
    return pa.table({
        "class_id": pa.array(range(len(order)), pa.int32()),
        "class_name": [class_names[i] for i in order], "readable_name": [readable[i] for i in order],
        "clip_text": vectors_to_arrow(clip_text[order]), "clap_text": vectors_to_arrow(clap_text[order]),
    }, schema=classes_schema(clip_text.shape[1], clap_text.shape[1]))
