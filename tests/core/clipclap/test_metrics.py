"""Calibrated stacking and the GZSL metrics: the vectorised β sweep against a per-β reference."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from avgzsl.clipclap import metrics as ev


def naive_scores(dist, true_cols, is_seen, beta):
    """Per-sample reference: the authors' formulation, one β at a time."""
    dist = dist.numpy().astype(np.float64)
    pred = np.argmin(dist + beta * is_seen.numpy(), axis=1)
    rec = {}
    for c in np.unique(true_cols.numpy()):
        rows = true_cols.numpy() == c
        rec[c] = float(np.mean(pred[rows] == c))
    s = np.mean([r for c, r in rec.items() if is_seen[c]])
    u = np.mean([r for c, r in rec.items() if not is_seen[c]])
    return s, u, 2 * s * u / (s + u + np.finfo(float).eps)


def test_vectorised_beta_sweep_matches_per_beta_reference():
    g = torch.Generator().manual_seed(0)
    dist = torch.rand(300, 10, generator=g) * 3
    cand = ev.Candidates.from_ids([0, 2, 4, 6, 8, 9], [1, 3, 5, 7])
    true_cols = torch.randint(10, (300,), generator=g)
    sweep = ev.sweep_betas(dist, true_cols, cand, chunk_elems=1000)  # forces several chunks
    for i in (0, 7, 40, 75):
        s, u, hm = naive_scores(dist, true_cols, cand.is_seen, float(ev.BETAS[i]))
        assert sweep["seen"][i].item() == pytest.approx(s)
        assert sweep["unseen"][i].item() == pytest.approx(u)
        assert sweep["hm"][i].item() == pytest.approx(hm)
    assert ev.best_beta(sweep) == int(np.argmax(sweep["hm"].numpy()))


def test_zsl_predicts_only_unseen_classes():
    dist = torch.rand(50, 6)
    cand = ev.Candidates.from_ids([0, 1, 2], [3, 4, 5])
    pred = ev.zsl_predictions(dist, cand)
    assert not cand.is_seen[pred].any()


def test_candidates_reject_overlap_and_foreign_labels():
    with pytest.raises(ValueError, match="overlap"):
        ev.Candidates.from_ids([0, 1], [1, 2])
    with pytest.raises(ValueError, match="not among the candidate"):
        ev.Candidates.from_ids([0, 1], [3]).columns(torch.tensor([2]))


def test_scores_from_predictions_and_the_metrics_names():
    cand = ev.Candidates.from_ids([0, 1], [2, 3])
    true_cols = torch.tensor([0, 0, 1, 2, 3, 3])
    gzsl = torch.tensor([0, 1, 1, 2, 0, 3])  # seen recalls 0.5, 1; unseen 1, 0.5
    zsl = torch.tensor([2, 2, 2, 3, 3, 2])  # on the unseen rows: class 2 missed, class 3 one of two
    scores = ev.scores_from_predictions(true_cols, gzsl, zsl, cand, beta=0.2)
    assert (scores.seen, scores.unseen) == (0.75, 0.75) and scores.hm == pytest.approx(0.75)
    assert scores.zsl == pytest.approx((0.0 + 0.5) / 2) and scores.beta == 0.2
    assert scores.recall == {0: 0.5, 1: 1.0, 2: 1.0, 3: 0.5} and scores.recall_zsl == {2: 0.0, 3: 0.5}
    metrics = ev.gzsl_metrics(scores, scores, best_epoch=3, stage1_epochs=5, stage2_epochs=4)
    assert set(metrics) == {"test_seen", "test_unseen", "test_hm", "test_zsl", "val_beta", "val_seen", "val_unseen",
                            "val_hm", "val_zsl", "best_epoch", "stage1_epochs", "stage2_epochs"}
    assert (metrics["val_zsl"], metrics["best_epoch"], metrics["stage2_epochs"]) == (0.25, 3, 4)
