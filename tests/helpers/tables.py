"""Small in-memory features/classes tables with learnable class structure (for the ClipClap tests)."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from avgzsl.data.schemas import classes_schema, features_schema

SPLIT_CLASSES = {
    "stage_1_train": range(0, 8), "stage_1_val_seen": range(0, 8), "stage_1_val_unseen": range(8, 12),
    "stage_2_test_seen": range(0, 12), "stage_2_test_unseen": range(12, 16),
}


def _fsl(matrix: np.ndarray) -> pa.FixedSizeListArray:
    return pa.FixedSizeListArray.from_arrays(pa.array(matrix.astype(np.float32).ravel()), matrix.shape[1])


def tiny_tables(seed: int = 0, per_class: int = 12, dims=(32, 48, 24, 40), noise: float = 2.0):
    """(features, classes) tables: 16 classes, readable names sorted differently from ids."""
    rng = np.random.default_rng(seed)
    n_classes, k = 16, 8
    z = rng.normal(size=(n_classes, k))
    mats = [rng.normal(size=(k, d)) for d in dims]

    def emb(m, lab, sigma):
        x = z[lab] @ m + sigma * rng.normal(size=(len(lab), m.shape[1]))
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    vid, cls, split, lab = [], [], [], []
    for s, members in SPLIT_CLASSES.items():
        for c in members:
            for i in range(per_class):
                vid.append(f"{s}/{c}/{i}")
                cls.append(f"Class{c:02d}")
                split.append(s)
                lab.append(c)
    lab = np.array(lab)
    features = pa.table({"video_id": vid, "class_name": cls, "split": split,
                         "visual": _fsl(emb(mats[0], lab, noise)), "audio": _fsl(emb(mats[1], lab, noise))},
                        schema=features_schema(dims[0], dims[1]))
    ids = np.arange(n_classes)
    readable = [f"{'zyxwvutsrqponmlk'[c]} class" for c in ids]  # reverse order of the ids
    classes = pa.table({"class_id": pa.array(ids, pa.int32()), "class_name": [f"Class{c:02d}" for c in ids],
                        "readable_name": readable, "clip_text": _fsl(emb(mats[2], ids, 0.3)),
                        "clap_text": _fsl(emb(mats[3], ids, 0.3))}, schema=classes_schema(dims[2], dims[3]))
    return features, classes
