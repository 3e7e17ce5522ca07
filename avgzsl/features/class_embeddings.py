"""Class text embeddings: each class's CLIP and CLAP prompt ensembles, as the classes table.

Recomputed only when the classes, their prompts or the encoders change (a fingerprint
in the table's metadata, of the encoders' identities: an unchanged table builds no
encoder), see docs/method.md, "Inputs".
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from avgzsl.data.splits import read_class_splits
from avgzsl.data.store import write_parquet_atomic
from avgzsl.encoders.base import LazyEncoder
from avgzsl.encoders.prompts import audio_prompts, class_text_embeddings, visual_prompts
from avgzsl.features.fingerprint import FINGERPRINT_KEY, fingerprint, stored_fingerprint
from avgzsl.features.tables import classes_table
from avgzsl.layout import DatasetPaths
from avgzsl.outcomes import Outcome


@dataclass(frozen=True)
class ClassEmbeddingsResult(Outcome):
    path: Path
    classes: int
    skipped: bool
    prompt_set: str
    visual_prompts_per_class: int
    audio_prompts_per_class: int
    weights: str


def build_class_embeddings(paths: DatasetPaths, visual: LazyEncoder, audio: LazyEncoder,
                           out: Path) -> ClassEmbeddingsResult:
    """Write the dataset's classes table to ``out`` unless an identical one is there."""
    spec = paths.read_spec()
    splits = read_class_splits(paths.class_split_dir(spec), dataset=spec.benchmark)
    names = list(splits.all_classes)
    readable = [splits.readable.get(n, n) for n in names]
    prompt_set = spec.benchmark or "custom"
    prompts = [(n, visual_prompts(prompt_set, n), audio_prompts(prompt_set, n)) for n in readable]
    fp = fingerprint({"visual": visual.identity, "audio": audio.identity, "prompts": prompt_set}, [names, prompts])
    skipped = stored_fingerprint(out) == fp
    if not skipped:
        clip, clap = visual.get(), audio.get()
        meta = {"visual": clip.info.as_metadata(), "audio": clap.info.as_metadata(), "prompts": prompt_set}
        clip_text, clap_text = class_text_embeddings(readable, prompt_set, clip, clap)
        write_parquet_atomic(classes_table(names, readable, clip_text, clap_text), out,
                             metadata={"encoders": json.dumps(meta), FINGERPRINT_KEY: fp})
    return ClassEmbeddingsResult(out, len(names), skipped, prompt_set, len(prompts[0][1]), len(prompts[0][2]),
                                 f"visual {visual.identity['weights']}, audio {audio.identity['weights']}")
