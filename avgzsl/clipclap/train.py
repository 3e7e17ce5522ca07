"""Class-balanced sampling and one training stage (docs/method.md, "Training").

All features live in one tensor on the training device; a batch is an index
gather, an epoch's batches are drawn in one call, and validation is one forward
pass over the whole split plus a vectorised β sweep.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from avgzsl.clipclap import metrics as ev
from avgzsl.clipclap.inputs import ProtocolData
from avgzsl.clipclap.model import ClipClap, ClipClapConfig, build_model
from avgzsl.clipclap.presets import Preset


@dataclass(frozen=True)
class TrainConfig(Preset):
    """A stage's settings: the preset's hyperparameters (docs/method.md, "Training"), plus how it runs."""

    # The authors' code runs a second train-mode forward pass through O_enc, W_enc,
    # O_proj and W_proj after every step (for logging); it updates BatchNorm running
    # statistics a second time.  Mirrored by default, see benchmarks/README.md.
    logging_pass: bool = True
    device: str = "cpu"


@dataclass
class EpochRecord:
    epoch: int
    lr: float
    loss: float
    loss_ce: float
    loss_reg: float
    loss_rec: float
    val_seen: float
    val_unseen: float
    val_hm: float
    val_zsl: float
    val_beta: float
    seconds: float


@dataclass
class StageResult:
    model: ClipClap  # the model of the selected epoch (stage 1) or the last epoch (stage 2)
    best_epoch: int
    history: list[EpochRecord] = field(default_factory=list)


class BalancedSampler:
    """Batches drawn with replacement so that every training class is equally likely."""

    def __init__(self, labels: torch.Tensor, generator: torch.Generator):
        self.order = torch.argsort(labels, stable=True)
        self.class_ids, counts = torch.unique_consecutive(labels[self.order], return_counts=True)
        self.counts = counts
        self.starts = torch.cumsum(counts, 0) - counts
        self.generator = generator

    def draw(self, batches: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(rows, class positions), each (batches, batch_size); rows index ``labels``."""
        g = self.generator
        cls = torch.randint(len(self.class_ids), (batches, batch_size), generator=g, device=g.device)
        offset = (torch.rand((batches, batch_size), generator=g, device=g.device) * self.counts[cls]).long()
        offset = torch.minimum(offset, self.counts[cls] - 1)
        return self.order[self.starts[cls] + offset], cls


@dataclass
class EvalSplit:
    """Rows, candidate classes and each row's candidate column, for one evaluation split."""

    rows: torch.Tensor
    candidates: ev.Candidates
    true_cols: torch.Tensor

    @classmethod
    def of(cls, data: ProtocolData, splits: tuple[str, str]) -> "EvalSplit":
        """``splits``: (seen split, unseen split), e.g. names.VALIDATION or names.TEST."""
        seen_split, unseen_split = splits
        rows = data.rows(seen_split, unseen_split)
        cand = ev.Candidates.from_ids(data.class_ids(seen_split), data.class_ids(unseen_split))
        return cls(rows=rows, candidates=cand, true_cols=cand.columns(data.labels.cpu()[rows]))


@torch.no_grad()
def split_distances(model: ClipClap, data: ProtocolData, split: EvalSplit) -> torch.Tensor:
    """Eval-mode distances between the split's videos and its candidate classes."""
    was_training = model.training
    model.eval()
    dev = data.inputs.device
    theta_o = model.embed_inputs(data.inputs[split.rows.to(dev)])
    theta_w = model.embed_classes(data.text[split.candidates.class_ids.to(dev)])
    model.train(was_training)
    return ev.distances(theta_o, theta_w)


def calibrate(model: ClipClap, data: ProtocolData, split: EvalSplit) -> tuple[ev.GzslScores, dict]:
    """The best-β scores on the split (β swept, first best HM kept), and the whole sweep."""
    dist = split_distances(model, data, split)
    true_cols = split.true_cols.to(dist.device)
    sweep = ev.sweep_betas(dist, true_cols, split.candidates)
    return ev.scores_for(dist, true_cols, split.candidates, float(sweep["beta"][ev.best_beta(sweep)])), sweep


def validate(model: ClipClap, data: ProtocolData, split: EvalSplit) -> ev.GzslScores:
    """The best-β scores on the split."""
    return calibrate(model, data, split)[0]


def _set_seed(seed: int) -> None:
    np.random.seed(seed)
    torch.manual_seed(seed)


def train_stage(data: ProtocolData, train_splits: tuple[str, ...], val: EvalSplit, epochs: int,
                cfg: TrainConfig, select_best: bool,
                on_epoch: Callable[[EpochRecord], None] | None = None) -> StageResult:
    """Train from scratch on ``train_splits``; validate after every epoch.

    ``select_best``: keep the first epoch with the strictly best validation HM
    (stage 1); otherwise keep the last epoch (stage 2).
    """
    _set_seed(cfg.seed)
    dev = data.inputs.device
    rows = data.rows(*train_splits).to(dev)
    class_ids = torch.unique(data.labels[rows])
    class_w = data.text[class_ids]
    model = build_model(ClipClapConfig(input_dim=data.inputs.shape[1], text_dim=data.text.shape[1])).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                           foreach=dev.type == "cuda", fused=dev.type == "cpu")
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=cfg.lr_patience)
    sampler = BalancedSampler(data.labels[rows], torch.Generator(device=dev).manual_seed(cfg.seed))
    best_hm, best_epoch, best_state, history = None, 0, None, []
    for epoch in range(epochs):
        started = time.perf_counter()
        model.train()
        batch_rows, batch_cls = sampler.draw(cfg.batches_per_epoch, cfg.batch_size)
        batch_rows = rows[batch_rows]
        sums = torch.zeros(4, device=dev)
        for step in range(cfg.batches_per_epoch):
            x = data.inputs[batch_rows[step]]
            target = batch_cls[step]
            parts = model.losses(x, class_w, target)
            opt.zero_grad(set_to_none=True)
            parts["loss"].backward()
            opt.step()
            if cfg.logging_pass:
                model.logging_pass(x, class_w, target)
            sums += torch.stack([parts[k].detach() for k in ("loss", "loss_ce", "loss_reg", "loss_rec")])
        scores = validate(model, data, val)
        means = (sums / cfg.batches_per_epoch).tolist()
        record = EpochRecord(epoch, opt.param_groups[0]["lr"], *means, scores.seen, scores.unseen, scores.hm,
                             scores.zsl, scores.beta, time.perf_counter() - started)
        history.append(record)
        if on_epoch:
            on_epoch(record)
        # The authors test `not best` (so an HM of exactly 0 is replaced by the next epoch's).
        if select_best and (not best_hm or scores.hm > best_hm):
            best_hm, best_epoch = scores.hm, epoch
            best_state = copy.deepcopy(model.state_dict())
        sched.step(scores.hm)
    if select_best:
        model.load_state_dict(best_state)
    else:
        best_epoch = epochs - 1
    model.eval()
    return StageResult(model=model, best_epoch=best_epoch, history=history)
