"""The paper's two-stage protocol end to end: stage 1 → β → stage 2 → test (docs/method.md, "Protocol")."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pyarrow as pa
import torch

from avgzsl.clipclap import metrics as ev
from avgzsl.clipclap.inputs import ProtocolData
from avgzsl.clipclap.train import (EpochRecord, EvalSplit, StageResult, TrainConfig, split_distances, train_stage,
                                   validate)
from avgzsl.methods.base import Method
from avgzsl.names import STAGE_1_TRAIN_SPLITS, STAGE_2_TRAIN_SPLITS, TEST, VALIDATION

PREDICTIONS_SCHEMA = pa.schema([
    ("video_id", pa.string()),
    ("true_class", pa.string()),
    ("split", pa.string()),  # seen / unseen
    ("predicted_class", pa.string()),  # GZSL, calibrated with the validation β
    ("predicted_class_zsl", pa.string()),  # among unseen classes only
])


@dataclass
class ProtocolResult:
    stage1: StageResult
    stage2: StageResult
    val: ev.GzslScores  # stage-1 model, best epoch, best β
    test: ev.GzslScores  # stage-2 model, validation β
    predictions: pa.Table

    def metrics(self) -> dict[str, float | int]:
        return ev.gzsl_metrics(self.test, self.val, self.stage1.best_epoch, len(self.stage1.history),
                               len(self.stage2.history))


def split_predictions(model, data: ProtocolData, split: EvalSplit, beta: float,
                      method: Method | None = None) -> tuple[ev.GzslScores, pa.Table]:
    """Predictions for every test video, and the scores they imply."""
    dist = split_distances(model, data, split, method)
    true_cols = split.true_cols.to(dist.device)
    gzsl = ev.gzsl_predictions(dist, split.candidates, torch.tensor([beta]))[0]
    zsl = ev.zsl_predictions(dist, split.candidates)
    scores = ev.scores_from_predictions(true_cols, gzsl, zsl, split.candidates, beta)
    names = np.asarray(data.class_names, dtype=object)
    cand_ids = split.candidates.class_ids.numpy()
    true_ids = cand_ids[true_cols.cpu().numpy()]
    is_seen = split.candidates.is_seen.numpy()[true_cols.cpu().numpy()]
    table = pa.table({
        "video_id": data.video_ids[split.rows.numpy()].tolist(),
        "true_class": names[true_ids].tolist(),
        "split": np.where(is_seen, "seen", "unseen").tolist(),
        "predicted_class": names[cand_ids[gzsl.cpu().numpy()]].tolist(),
        "predicted_class_zsl": names[cand_ids[zsl.cpu().numpy()]].tolist(),
    }, schema=PREDICTIONS_SCHEMA)
    return scores, table


def stage1(data: ProtocolData, cfg: TrainConfig, on_epoch: Callable[[EpochRecord], None] | None = None,
           method: Method | None = None) -> tuple[StageResult, ev.GzslScores]:
    """Stage 1: train on stage_1_train, keep the best validation epoch; its β and scores."""
    val = EvalSplit.of(data, VALIDATION)
    result = train_stage(data, STAGE_1_TRAIN_SPLITS, val, cfg.epochs, cfg, select_best=True, on_epoch=on_epoch,
                         method=method)
    return result, validate(result.model, data, val, method)


def stage2(data: ProtocolData, cfg: TrainConfig, best_epoch: int,
           on_epoch: Callable[[EpochRecord], None] | None = None, method: Method | None = None) -> StageResult:
    """Stage 2: retrain from scratch on train + validation for best_epoch + 1 epochs."""
    val = EvalSplit.of(data, VALIDATION)
    return train_stage(data, STAGE_2_TRAIN_SPLITS, val, best_epoch + 1, cfg, select_best=False, on_epoch=on_epoch,
                       method=method)


def final_test(model, data: ProtocolData, beta: float, method: Method | None = None) -> tuple[ev.GzslScores, pa.Table]:
    """The stage-2 model on stage_2_test_seen + stage_2_test_unseen with the validation β."""
    return split_predictions(model, data, EvalSplit.of(data, TEST), beta, method)


def run_protocol(data: ProtocolData, cfg: TrainConfig, on_epoch: Callable[[str, EpochRecord], None] | None = None,
                 method: Method | None = None) -> ProtocolResult:
    """Stage 1 with model selection on validation HM, β on validation, stage 2, test."""
    first, val_scores = stage1(data, cfg, (lambda r: on_epoch("stage1", r)) if on_epoch else None, method)
    second = stage2(data, cfg, first.best_epoch, (lambda r: on_epoch("stage2", r)) if on_epoch else None, method)
    test_scores, predictions = final_test(second.model, data, val_scores.beta, method)
    return ProtocolResult(stage1=first, stage2=second, val=val_scores, test=test_scores, predictions=predictions)
