"""Class-balanced sampling, evaluation splits and calibration of one training stage."""
from __future__ import annotations

import numpy as np
import torch

from avgzsl.clipclap.inputs import build_protocol_data
from avgzsl.clipclap.model import ClipClapConfig, build_model
from avgzsl.clipclap.train import BalancedSampler, EvalSplit, calibrate, validate
from avgzsl.names import TEST, VALIDATION
from tests.helpers.tables import SPLIT_CLASSES, tiny_tables


def test_balanced_sampler_draws_classes_uniformly_and_rows_of_that_class():
    labels = torch.tensor([0] * 500 + [3] * 20 + [7] * 5)
    sampler = BalancedSampler(labels, torch.Generator().manual_seed(1))
    rows, cls = sampler.draw(300, 64)
    assert torch.equal(labels[rows], sampler.class_ids[cls])
    freq = torch.bincount(cls.flatten(), minlength=3).float() / cls.numel()
    assert torch.allclose(freq, torch.full((3,), 1 / 3), atol=0.01)
    assert set(rows[cls == 2].tolist()) == set(range(520, 525))  # all five rows of the rare class drawn


def test_eval_split_candidates_are_the_seen_and_unseen_classes_of_its_two_splits():
    data = build_protocol_data(*tiny_tables())
    for splits in (VALIDATION, TEST):
        split = EvalSplit.of(data, splits)
        seen, unseen = (set(SPLIT_CLASSES[s]) for s in splits)
        ids = split.candidates.class_ids.tolist()
        assert ids == sorted(seen | unseen)
        assert {i for i, s in zip(ids, split.candidates.is_seen.tolist()) if s} == seen
        assert len(split.rows) == int(np.isin(data.splits, splits).sum())
        np.testing.assert_array_equal(split.candidates.class_ids[split.true_cols].numpy(),
                                      data.labels[split.rows].numpy())


def test_calibrate_keeps_the_first_best_beta_of_its_sweep():
    torch.manual_seed(0)
    data = build_protocol_data(*tiny_tables())
    model = build_model(ClipClapConfig(input_dim=data.inputs.shape[1], text_dim=data.text.shape[1])).eval()
    split = EvalSplit.of(data, VALIDATION)
    scores, sweep = calibrate(model, data, split)
    best = int(np.argmax(sweep["hm"].numpy()))
    assert scores.beta == float(sweep["beta"][best]) and scores.hm == float(sweep["hm"][best])
    assert validate(model, data, split) == scores
