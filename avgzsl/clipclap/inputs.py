"""Turn the features and classes tables into the tensors training needs.

The ablations of the paper select the model's inputs: ``modality`` picks the
audio-visual input (``both`` = concat(visual, audio), visual first) and ``text``
picks which half of the class embedding ``w = concat(clip_text, clap_text)`` is
used.  ``text_lookup`` chooses how a class finds its text embedding: ``name``
(correct) or ``positional`` (the authors' defect, see docs/method.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import torch

from avgzsl.data.store import arrow_to_vectors
from avgzsl.names import AUDIO, TEXT_LOOKUPS, TEXT_SOURCES, VISUAL, modality as canonical_modality


@dataclass
class ProtocolData:
    """Everything the two-stage protocol reads, as tensors."""

    inputs: torch.Tensor  # (N, input_dim) float32
    labels: torch.Tensor  # (N,) global class ids
    splits: np.ndarray  # (N,) split name of each video
    video_ids: np.ndarray  # (N,)
    text: torch.Tensor  # (C, text_dim): the class embedding w of each class id
    class_names: list[str]  # class id → folder-style name
    modality: str
    text_source: str
    text_lookup: str
    visual_dim: int = 0  # the visual part of each input row when modality is both (concat(visual, audio)); else 0

    def rows(self, *split_names: str) -> torch.Tensor:
        """Indices of the videos of the given splits."""
        mask = np.isin(self.splits, split_names)
        if not mask.any():
            raise ValueError(f"no videos in split(s) {', '.join(split_names)}")
        return torch.from_numpy(np.flatnonzero(mask))

    def class_ids(self, *split_names: str) -> np.ndarray:
        """Ascending ids of the classes that have videos in the given splits."""
        return np.unique(self.labels[self.rows(*split_names)].numpy())

    def to(self, device: torch.device | str) -> "ProtocolData":
        self.inputs = self.inputs.to(device)
        self.labels = self.labels.to(device)
        self.text = self.text.to(device)
        return self


def model_input(visual: np.ndarray, audio: np.ndarray, modality: str) -> np.ndarray:
    """The network's input rows for a modality: ``both`` = concat(visual, audio), visual first."""
    name = canonical_modality(modality)
    x = np.concatenate([visual, audio], axis=1) if name == "both" else {VISUAL: visual, AUDIO: audio}[name]
    return np.array(x, dtype=np.float32, order="C")


def text_input(clip_text: np.ndarray, clap_text: np.ndarray, text_source: str) -> np.ndarray:
    """The class embedding w for a text source: ``both`` = concat(clip_text, clap_text), CLIP first."""
    if text_source not in TEXT_SOURCES:
        raise ValueError(f"text must be one of {TEXT_SOURCES}, got {text_source!r}")
    parts = {"clip": clip_text, "clap": clap_text}
    return np.concatenate([clip_text, clap_text], axis=1) if text_source == "both" else parts[text_source]


def class_text(classes: pa.Table, text_source: str, text_lookup: str) -> tuple[np.ndarray, list[str]]:
    """The text embedding of each class id, and the class names by id."""
    if text_lookup not in TEXT_LOOKUPS:
        raise ValueError(f"text_lookup must be one of {TEXT_LOOKUPS}, got {text_lookup!r}")
    ids = classes.column("class_id").to_numpy()
    if not np.array_equal(np.sort(ids), np.arange(len(ids))):
        raise ValueError("class ids must be 0..C-1, one row per class")
    order = np.argsort(ids)
    names = [classes.column("class_name")[int(i)].as_py() for i in order]
    w = text_input(arrow_to_vectors(classes.column("clip_text")), arrow_to_vectors(classes.column("clap_text")),
                   text_source)
    if text_lookup == "positional":
        # The authors' defect: the text dict sorted by readable name, indexed by class id.
        readable = classes.column("readable_name").to_pylist()
        w = w[sorted(range(len(readable)), key=readable.__getitem__)]
    else:
        w = w[order]
    return np.ascontiguousarray(w, dtype=np.float32), names


def build_protocol_data(features: pa.Table, classes: pa.Table, modality: str = "both",
                        text_source: str = "both", text_lookup: str = "name") -> ProtocolData:
    """Select the ablation's inputs and look every class's text embedding up."""
    modality = canonical_modality(modality)
    text, names = class_text(classes, text_source, text_lookup)
    id_of = {name: i for i, name in enumerate(names)}
    class_col = features.column("class_name").to_pylist()
    unknown = sorted(set(class_col) - id_of.keys())
    if unknown:
        raise ValueError(f"videos of classes missing from the classes table: {unknown[:5]}")
    labels = np.fromiter((id_of[c] for c in class_col), dtype=np.int64, count=len(class_col))
    visual = arrow_to_vectors(features.column(VISUAL))
    x = model_input(visual, arrow_to_vectors(features.column(AUDIO)), modality)
    return ProtocolData(
        inputs=torch.from_numpy(x),
        labels=torch.from_numpy(labels),
        splits=np.asarray(features.column("split").to_pylist(), dtype=object),
        video_ids=np.asarray(features.column("video_id").to_pylist(), dtype=object),
        text=torch.from_numpy(text),
        class_names=names,
        modality=modality,
        text_source=text_source,
        text_lookup=text_lookup,
        visual_dim=visual.shape[1] if modality == "both" else 0,
    )
