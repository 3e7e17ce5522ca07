"""Calibrated stacking and the GZSL metrics (docs/method.md, "Evaluation").

Everything is vectorised: one distance matrix per evaluation, the whole β sweep
as one batched argmin, per-class recalls with one ``scatter_add``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

# 76 values evenly from 0 to 5, as in the authors' sweep.
BETAS = torch.linspace(0.0, 5.0, 76)
_EPS = float(np.finfo(float).eps)
_FAR = 1e14  # distance given to classes that are not candidates


@dataclass(frozen=True)
class Candidates:
    """The candidate classes of one evaluation split (seen ∪ unseen, ids ascending)."""

    class_ids: torch.Tensor  # (C,) global class ids, ascending
    is_seen: torch.Tensor  # (C,) bool

    @classmethod
    def from_ids(cls, seen_ids, unseen_ids) -> "Candidates":
        seen = torch.as_tensor(np.asarray(seen_ids, dtype=np.int64))
        unseen = torch.as_tensor(np.asarray(unseen_ids, dtype=np.int64))
        if np.intersect1d(seen.numpy(), unseen.numpy()).size:
            raise ValueError("seen and unseen candidate classes overlap")
        ids = torch.sort(torch.cat([seen, unseen])).values
        return cls(class_ids=ids, is_seen=torch.isin(ids, seen))

    def columns(self, labels: torch.Tensor) -> torch.Tensor:
        """Column index of each global class id (labels must be candidates)."""
        cols = torch.searchsorted(self.class_ids.to(labels.device), labels)
        if (cols >= len(self.class_ids)).any() or (self.class_ids.to(labels.device)[cols.clamp(max=len(self.class_ids) - 1)] != labels).any():
            raise ValueError("a video's class is not among the candidate classes")
        return cols


@dataclass
class GzslScores:
    """S, U, HM and ZSL (fractions) plus per-class recall, for one β."""

    seen: float
    unseen: float
    hm: float
    zsl: float
    beta: float
    recall: dict[int, float] = field(default_factory=dict)  # GZSL recall per class id
    recall_zsl: dict[int, float] = field(default_factory=dict)  # ZSL recall per unseen class id


def class_recalls(pred_cols: torch.Tensor, true_cols: torch.Tensor, n_cols: int) -> torch.Tensor:
    """Per-class recall for each row of predictions: (B, N) → (B, n_cols), float64."""
    correct = (pred_cols == true_cols.unsqueeze(0)).to(torch.float64)
    hits = torch.zeros(pred_cols.shape[0], n_cols, dtype=torch.float64, device=pred_cols.device)
    hits.scatter_add_(1, true_cols.unsqueeze(0).expand_as(pred_cols), correct)
    totals = torch.bincount(true_cols, minlength=n_cols).to(torch.float64)
    return hits / totals  # classes without videos give NaN, as they should be absent


def harmonic_mean(seen: torch.Tensor, unseen: torch.Tensor) -> torch.Tensor:
    return 2 * seen * unseen / (seen + unseen + _EPS)


def _seen_unseen_means(recall: torch.Tensor, is_seen: torch.Tensor, true_cols: torch.Tensor):
    present = torch.bincount(true_cols, minlength=recall.shape[1]) > 0
    seen = recall[:, is_seen & present].mean(dim=1)
    unseen = recall[:, ~is_seen & present].mean(dim=1)
    return seen, unseen


def distances(theta_o: torch.Tensor, theta_w: torch.Tensor) -> torch.Tensor:
    """Euclidean distances (N, C) between video and candidate-class embeddings."""
    return torch.cdist(theta_o.float(), theta_w.float())


def calibrated(dist: torch.Tensor, is_seen: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    """Calibrated stacking: the distances (N, C) with β added to the seen columns, for each β: (B, N, C)."""
    seen = is_seen.to(dist.device).to(dist.dtype)
    return dist.unsqueeze(0) + betas.to(dist).view(-1, 1, 1) * seen


def gzsl_predictions(dist: torch.Tensor, cand: Candidates, betas: torch.Tensor) -> torch.Tensor:
    """Column of the nearest class after adding β to seen classes: (B, N)."""
    return torch.argmin(calibrated(dist, cand.is_seen, betas), dim=2)


def ranking(dist: torch.Tensor, is_seen: torch.Tensor, beta: float, top_k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``top_k`` nearest columns of each row after calibration, and their calibrated distances: (N, k) each.

    Rank 1 is :func:`gzsl_predictions`'s column (a stable sort keeps the first of equal distances, as argmin does).
    """
    scores = calibrated(dist, is_seen, torch.tensor([float(beta)]))[0]
    values, cols = torch.sort(scores, dim=1, stable=True)
    k = min(int(top_k), scores.shape[1])
    return cols[:, :k], values[:, :k]


def zsl_predictions(dist: torch.Tensor, cand: Candidates) -> torch.Tensor:
    """Column of the nearest unseen class: (N,)."""
    far = cand.is_seen.to(dist.device).to(dist.dtype) * _FAR
    return torch.argmin(dist + far, dim=1)


def sweep_betas(dist: torch.Tensor, true_cols: torch.Tensor, cand: Candidates, betas: torch.Tensor = BETAS,
                chunk_elems: int = 2**26) -> dict[str, torch.Tensor]:
    """S, U, HM for every β, in chunks of β that keep (B, N, C) below ``chunk_elems``."""
    n, c = dist.shape
    per_chunk = max(1, chunk_elems // max(1, n * c))
    seen_all, unseen_all = [], []
    for start in range(0, len(betas), per_chunk):
        preds = gzsl_predictions(dist, cand, betas[start:start + per_chunk])
        recall = class_recalls(preds, true_cols, c)
        s, u = _seen_unseen_means(recall, cand.is_seen.to(dist.device), true_cols)
        seen_all.append(s)
        unseen_all.append(u)
    seen, unseen = torch.cat(seen_all).cpu(), torch.cat(unseen_all).cpu()
    return {"beta": betas.cpu(), "seen": seen, "unseen": unseen, "hm": harmonic_mean(seen, unseen)}


def scores_for(dist: torch.Tensor, true_cols: torch.Tensor, cand: Candidates, beta: float) -> GzslScores:
    """The scores at one β, with per-class recalls (GZSL and ZSL)."""
    gzsl = gzsl_predictions(dist, cand, torch.tensor([beta]))[0]
    zsl = zsl_predictions(dist, cand)
    return scores_from_predictions(true_cols, gzsl, zsl, cand, beta)


def scores_from_predictions(true_cols: torch.Tensor, pred_cols: torch.Tensor, pred_zsl_cols: torch.Tensor,
                            cand: Candidates, beta: float) -> GzslScores:
    """S, U, HM, ZSL exactly as the given predictions imply (columns of ``cand``)."""
    c = len(cand.class_ids)
    is_seen = cand.is_seen.to(true_cols.device)
    recall = class_recalls(pred_cols.unsqueeze(0), true_cols, c)
    seen, unseen = _seen_unseen_means(recall, is_seen, true_cols)
    unseen_rows = ~is_seen[true_cols]
    recall_zsl = class_recalls(pred_zsl_cols[unseen_rows].unsqueeze(0), true_cols[unseen_rows], c)
    _, zsl = _seen_unseen_means(recall_zsl, is_seen, true_cols[unseen_rows])
    ids = cand.class_ids.tolist()
    present = torch.bincount(true_cols, minlength=c) > 0
    return GzslScores(
        seen=float(seen[0]), unseen=float(unseen[0]), hm=float(harmonic_mean(seen, unseen)[0]),
        zsl=float(zsl[0]), beta=float(beta),
        recall={ids[j]: float(recall[0, j]) for j in range(c) if present[j]},
        recall_zsl={ids[j]: float(recall_zsl[0, j]) for j in range(c) if present[j] and not is_seen[j]},
    )


def best_beta(sweep: dict[str, torch.Tensor]) -> int:
    """Index of the first β with the highest HM."""
    return int(np.argmax(sweep["hm"].numpy()))


def gzsl_metrics(test: GzslScores, val: GzslScores, best_epoch: int, stage1_epochs: int,
                 stage2_epochs: int) -> dict[str, float | int]:
    """The metrics of a run, as its metrics file, MLflow and the results tables name them."""
    return {
        "test_seen": test.seen, "test_unseen": test.unseen, "test_hm": test.hm, "test_zsl": test.zsl,
        "val_beta": val.beta, "val_seen": val.seen, "val_unseen": val.unseen, "val_hm": val.hm, "val_zsl": val.zsl,
        "best_epoch": best_epoch, "stage1_epochs": stage1_epochs, "stage2_epochs": stage2_epochs,
    }
