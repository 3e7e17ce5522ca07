"""The two-stage protocol end to end on a tiny learnable problem: deterministic, metrics from its predictions."""
from __future__ import annotations

import numpy as np
import pytest

from avgzsl.clipclap.inputs import build_protocol_data
from avgzsl.clipclap.protocol import run_protocol
from avgzsl.clipclap.train import TrainConfig
from tests.helpers.tables import tiny_tables


def test_protocol_is_deterministic_and_metrics_come_from_predictions():
    features, classes = tiny_tables()
    cfg = TrainConfig(epochs=3, lr=1e-3, batches_per_epoch=15, batch_size=32)
    runs = [run_protocol(build_protocol_data(features, classes), cfg) for _ in range(2)]
    assert runs[0].metrics() == runs[1].metrics()
    first = runs[0]
    assert first.metrics()["stage2_epochs"] == first.stage1.best_epoch + 1
    assert first.test.hm > 0.2  # the tiny problem is learnable
    pred = first.predictions.to_pylist()
    assert len(pred) == features.filter(
        np.isin(features.column("split").to_numpy(zero_copy_only=False),
                ["stage_2_test_seen", "stage_2_test_unseen"])).num_rows
    recall = {}
    for group in ("seen", "unseen"):
        classes_ = {r["true_class"] for r in pred if r["split"] == group}
        recall[group] = np.mean([np.mean([r["predicted_class"] == c for r in pred if r["true_class"] == c])
                                 for c in classes_])
    unseen = {r["true_class"] for r in pred if r["split"] == "unseen"}
    zsl = np.mean([np.mean([r["predicted_class_zsl"] == c for r in pred if r["true_class"] == c]) for c in unseen])
    assert first.test.seen == pytest.approx(recall["seen"], abs=1e-12)
    assert first.test.unseen == pytest.approx(recall["unseen"], abs=1e-12)
    assert first.test.zsl == pytest.approx(zsl, abs=1e-12)
    assert all(r["predicted_class_zsl"] in unseen for r in pred)
