"""Data-quality checks on the feature tables (shown as Dagster asset checks)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from avgzsl.data.store import arrow_to_vectors
from avgzsl.names import AUDIO, SPLITS, STAGE_1_TRAIN, STAGE_2_TRAIN_SPLITS, TEST_UNSEEN, VAL_UNSEEN, VISUAL


@dataclass
class CheckOutcome:
    name: str
    passed: bool
    description: str
    metadata: dict = field(default_factory=dict)
    severity: str = "ERROR"  # ERROR | WARN


def splits_complete(features: pa.Table) -> CheckOutcome:
    """Every split of the protocol has videos."""
    counts = {s: int(pc.sum(pc.equal(features.column("split"), s)).as_py() or 0) for s in SPLITS}
    empty = [s for s, n in counts.items() if n == 0]
    return CheckOutcome("splits_complete", not empty,
                        f"empty splits: {', '.join(empty)}" if empty else "all five splits have videos", counts)


def seen_unseen_disjoint(features: pa.Table) -> CheckOutcome:
    """Unseen classes never appear in training, at either stage."""
    def classes(*splits):
        mask = pc.is_in(features.column("split"), value_set=pa.array(list(splits)))
        return set(pc.unique(features.filter(mask).column("class_name")).to_pylist())

    leaks = (classes(STAGE_1_TRAIN) & classes(VAL_UNSEEN)) | (classes(*STAGE_2_TRAIN_SPLITS) & classes(TEST_UNSEEN))
    return CheckOutcome("seen_unseen_disjoint", not leaks,
                        f"unseen classes seen in training: {sorted(leaks)[:5]}" if leaks else
                        "no unseen class has training videos", {"leaking_classes": len(leaks)})


def vectors_normalised(features: pa.Table, classes: pa.Table, tolerance: float = 1e-2) -> CheckOutcome:
    """Input and text vectors are L2-normalised, as the method expects (a warning only)."""
    worst = {}
    for table, column in ((features, VISUAL), (features, AUDIO), (classes, "clip_text"), (classes, "clap_text")):
        norms = np.linalg.norm(arrow_to_vectors(table.column(column)), axis=1)
        worst[column] = float(np.max(np.abs(norms - 1.0))) if len(norms) else 0.0
    bad = [c for c, v in worst.items() if v > tolerance]
    return CheckOutcome("vectors_normalised", not bad,
                        f"not unit-norm: {', '.join(bad)}" if bad else "all vectors unit-norm",
                        {f"max_norm_error_{k}": v for k, v in worst.items()}, severity="WARN")


def feature_checks(features: pa.Table, classes: pa.Table) -> list[CheckOutcome]:
    return [splits_complete(features), seen_unseen_disjoint(features), vectors_normalised(features, classes)]
