"""Class-balanced sampling and one training stage (docs/method.md, "Training").

All features live in one tensor on the training device; a batch is an index
gather, an epoch's batches are drawn in one call, and validation is one forward
pass over the whole split plus a vectorised β sweep.
"""
from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from avgzsl.clipclap import metrics as ev
from avgzsl.clipclap.inputs import ProtocolData
from avgzsl.clipclap.presets import Preset
from avgzsl.methods.base import Batch, Method, rank_distances, total
from avgzsl.methods.registry import get_method


@dataclass(frozen=True)
class TrainConfig(Preset):
    """A stage's settings: the preset's hyperparameters (docs/method.md, "Training"), plus how it runs."""

    # The authors' code runs a second train-mode forward pass through O_enc, W_enc,
    # O_proj and W_proj after every step (for logging); it updates BatchNorm running
    # statistics a second time.  Mirrored by default, see benchmarks/README.md.
    logging_pass: bool = True
    device: str = "cpu"
    losses: str = ""  # the method's loss set (--losses; "" = its default, the full loss)
    dataset: str = "ucf"  # whose network presets (dropout, ...) the method uses


def loss_names(method: Method, losses: str) -> tuple[str, ...] | None:
    """The loss parts trained for a ``--losses`` value (None: every part the method returns)."""
    if not losses:
        return method.loss_sets.get(method.default_losses) if method.loss_sets else None
    if losses not in method.loss_sets:
        raise ValueError(f"losses {losses!r}: method {method.name} has "
                         + (f"the loss sets {', '.join(method.loss_sets)}" if method.loss_sets else "no loss sets"))
    return method.loss_sets[losses]


@dataclass
class EpochRecord:
    epoch: int
    lr: float
    loss: float
    val_seen: float
    val_unseen: float
    val_hm: float
    val_zsl: float
    val_beta: float
    seconds: float
    losses: dict[str, float] = field(default_factory=dict)  # each loss part's epoch mean (loss_ce, ...)

    def as_dict(self) -> dict:
        """Flat: epoch, lr, loss, every loss part, the validation scores, seconds."""
        values = dataclasses.asdict(self)
        parts = values.pop("losses")
        head = {k: values.pop(k) for k in ("epoch", "lr", "loss")}
        return {**head, **parts, **values}


@dataclass
class StageResult:
    model: torch.nn.Module  # the model of the selected epoch (stage 1) or the last epoch (stage 2)
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

    def draw_negatives(self, cls: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """For each drawn class, a video of another class (uniform among the others), as in AVCA-GZSL's dataset."""
        g, k = self.generator, len(self.class_ids)
        neg = (cls + torch.randint(1, max(k, 2), cls.shape, generator=g, device=g.device)) % k
        offset = (torch.rand(cls.shape, generator=g, device=g.device) * self.counts[neg]).long()
        offset = torch.minimum(offset, self.counts[neg] - 1)
        return self.order[self.starts[neg] + offset], neg


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


def split_distances(model: torch.nn.Module, data: ProtocolData, split: EvalSplit,
                    method: Method | None = None) -> torch.Tensor:
    """Eval-mode distances between the split's videos and its candidate classes."""
    dev = data.inputs.device
    return rank_distances(method or get_method(), model, data.inputs[split.rows.to(dev)],
                          data.text[split.candidates.class_ids.to(dev)])


def calibrate(model: torch.nn.Module, data: ProtocolData, split: EvalSplit,
              method: Method | None = None) -> tuple[ev.GzslScores, dict]:
    """The best-β scores on the split (β swept, first best HM kept), and the whole sweep."""
    dist = split_distances(model, data, split, method)
    true_cols = split.true_cols.to(dist.device)
    sweep = ev.sweep_betas(dist, true_cols, split.candidates)
    return ev.scores_for(dist, true_cols, split.candidates, float(sweep["beta"][ev.best_beta(sweep)])), sweep


def validate(model: torch.nn.Module, data: ProtocolData, split: EvalSplit,
             method: Method | None = None) -> ev.GzslScores:
    """The best-β scores on the split."""
    return calibrate(model, data, split, method)[0]


def _set_seed(seed: int) -> None:
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_network(method: Method, data: ProtocolData, dataset: str = "ucf") -> torch.nn.Module:
    """The method's network for the data's input and text sizes and the dataset's network presets."""
    config = method.make_config(data.inputs.shape[1], data.text.shape[1], data.visual_dim, dataset)
    model = method.build(config)
    model.config, model.method_name = config, method.name  # what a checkpoint records
    return model


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    """Adam (fused on CPU, foreach on CUDA) with the preset's learning rate and weight decay."""
    return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                            foreach=device.type == "cuda", fused=device.type == "cpu")


def draw_batches(sampler: BalancedSampler, rows: torch.Tensor, cfg: TrainConfig, negatives: bool):
    """An epoch's batches as (rows, class positions, negative rows, negative positions), each (batches, B)."""
    batch_rows, batch_cls = sampler.draw(cfg.batches_per_epoch, cfg.batch_size)
    if not negatives:
        return rows[batch_rows], batch_cls, None, None
    neg_rows, neg_cls = sampler.draw_negatives(batch_cls)
    return rows[batch_rows], batch_cls, rows[neg_rows], neg_cls


def train_stage(data: ProtocolData, train_splits: tuple[str, ...], val: EvalSplit, epochs: int,
                cfg: TrainConfig, select_best: bool,
                on_epoch: Callable[[EpochRecord], None] | None = None, method: Method | None = None) -> StageResult:
    """Train the method's network from scratch on ``train_splits``; validate after every epoch.

    ``select_best``: keep the first epoch with the strictly best validation HM
    (stage 1); otherwise keep the last epoch (stage 2).
    """
    method = method or get_method()
    names = loss_names(method, cfg.losses)
    _set_seed(cfg.seed)
    dev = data.inputs.device
    rows = data.rows(*train_splits).to(dev)
    class_ids = torch.unique(data.labels[rows])
    class_w = data.text[class_ids]
    model = build_network(method, data, cfg.dataset).to(dev)
    opt = make_optimizer(model, cfg, dev)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=cfg.lr_patience)
    sampler = BalancedSampler(data.labels[rows], torch.Generator(device=dev).manual_seed(cfg.seed))
    best_hm, best_epoch, best_state, history = None, 0, None, []
    for epoch in range(epochs):
        started = time.perf_counter()
        model.train()
        batch_rows, batch_cls, neg_rows, neg_cls = draw_batches(sampler, rows, cfg, method.needs_negatives)
        sums = None
        for step in range(cfg.batches_per_epoch):
            batch = Batch(x=data.inputs[batch_rows[step]], target=batch_cls[step], class_text=class_w)
            if neg_rows is not None:
                batch.x_neg, batch.target_neg = data.inputs[neg_rows[step]], neg_cls[step]
            parts = method.losses(model, batch)
            loss = total(parts, names)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if cfg.logging_pass:
                method.after_step(model, batch)
            step_values = torch.stack([loss.detach(), *(p.detach() for p in parts.values())])
            sums = step_values if sums is None else sums + step_values
        scores = validate(model, data, val, method)
        means = (sums / cfg.batches_per_epoch).tolist()
        record = EpochRecord(epoch, opt.param_groups[0]["lr"], means[0], scores.seen, scores.unseen, scores.hm,
                             scores.zsl, scores.beta, time.perf_counter() - started,
                             losses=dict(zip(parts, means[1:])))
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
