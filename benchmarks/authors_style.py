"""Authors-style baseline: the ClipClap training and evaluation *as the authors' code runs it*.

This is **our re-implementation**, written from docs/method.md and from a description of the code paths
of the authors' repository (github.com/dkurzend/ClipClap-GZSL); it is not their code, and it has not
been checked against a run of their code.  Its purpose is to be a stand-in for their code on the
same feature files: the same network and losses, the same data pipeline and its costs, the same
extra passes, the same model selection and evaluation arithmetic.  What it mirrors:

* Network: blocks ``Linear → BatchNorm1d → ReLU → Dropout(0.1)`` (hidden variant: two such
  blocks), modules created in the order O_enc, W_enc, O_proj, D_o, W_proj, D_w and run in the order
  O_enc, W_enc, O_proj, D_o, W_proj, D_w, then W_proj(W_enc(all training classes)) for the
  cross-entropy logits.  W_enc runs on the *per-sample* text vectors (B × text_dim), not on the K
  class vectors.  Adam (lr, weight decay 1e-5, default implementation), ReduceLROnPlateau
  ('max', patience 3) stepped with the validation HM after every epoch.
* Data path: a Dataset that returns, per index, a dict with a *positive* sample (audio, video, the
  text vector of its class, url, fps) and a randomly drawn *negative* sample of another class (the
  authors' "contrastive" wrapper; the negative is never used by ClipClap but is built and
  collated); a batch sampler that yields 300 batches of 64 indices per epoch, class-balanced with
  replacement (``torch.multinomial`` over per-sample weights 1/(K·|class|), the global torch RNG);
  ``DataLoader(batch_sampler=..., num_workers=4)`` with a collator that builds every tensor with
  ``torch.tensor(list of numpy vectors)``, plus padding masks and time steps; then a Python loop
  mapping each global label to its index among the sorted training classes.
* After every optimizer step: a second forward in train mode, *with* autograd graph, through O_enc,
  W_enc, O_proj, W_proj on the same batch (outputs discarded except a ``torch.stack``; it updates
  those BatchNorm running statistics a second time).
* Validation after every epoch: 300 balanced batches of the validation set in eval mode computing
  the loss only (logging), and at its first batch the metric: embed the whole validation set in
  batches of 64 (DataLoader, 4 workers), class embeddings of the candidates (seen ∪ unseen, sorted
  ids) in eval mode, then for each of 76 β in linspace(0, 5, 76) a full distance matrix (N × all
  classes, 1e14 for non-candidates), β added to every non-unseen column, argmin, per-class recall
  via bincount (float32), S, U, HM = 2SU/(S+U+eps), ZSL (seen columns + 1e14); the best β is the
  first argmax of HM.
* Model selection: the first epoch with the strictly best validation HM (``not best or hm > best``),
  its weights saved (``torch.save`` of model + optimizer state, also for the best validation loss;
  stage 2 saves a checkpoint every epoch).  Stage 2: a fresh model with the same seed on
  stage_1_train + val_seen + val_unseen for best_epoch + 1 epochs, still validating on the
  validation split and stepping the scheduler with it.  β: the stage-1 best model on the validation
  set (the sweep again, 8 loader workers); test: the stage-2 model with the fixed β (plus 1e-10/3,
  as the authors average three identical βs) on stage_2_test_seen + stage_2_test_unseen.
* Seeds: numpy, torch and ``random`` seeded with the seed at the start of each stage and of the
  final evaluation; torch threads left at the library default (the authors do not set them).

Not mirrored (cheap, or not on the CPU path): tqdm progress bars, TensorBoard writes, logging, the
one-off pickle preprocessing of their dataset classes (both sides here start from the imported
tables).  ``data_path="fast"`` replaces the DataLoader/collator with an in-process numpy gather
that draws the sampler's random numbers in the same order as 4 prefetching workers would; it gives
the same numbers (``--check-fast`` verifies this) in a fraction of the time, for the fidelity runs.
"""
from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import tempfile
import time
import warnings
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from torch import nn
from torch.utils import data as tud

EPS = float(np.finfo(float).eps)
FAR = 99999999999999  # the "infinite" distance of non-candidate classes (an int, as the authors write it)
TRAIN_WORKERS, EVAL_WORKERS_DURING_TRAINING, FINAL_EVAL_WORKERS = 4, 4, 8
BATCH_SIZE, N_BATCHES = 64, 300


# ----------------------------------------------------------------------------------------------
# Network


from authors_style_data import (BalancedBatchSampler, PairDataset, SplitData, _loader, build_splits,  # noqa: E402,F401
                                 pair_collate)
class EmbeddingBlock(nn.Module):
    """``Linear → BN → ReLU → Dropout``, optionally after a hidden ``Linear → BN → ReLU → Dropout``."""

    def __init__(self, in_dim: int, out_dim: int, dropout: float, hidden: int = 0):
        super().__init__()
        layers: list[nn.Module] = []
        if hidden > 0:
            layers += [nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(dropout)]
            in_dim = hidden
        layers += [nn.Linear(in_dim, out_dim), nn.BatchNorm1d(out_dim), nn.ReLU(), nn.Dropout(dropout)]
        self.fc = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class AuthorsStyleNet(nn.Module):
    """The network with its optimizer and scheduler attached, as the authors' model class holds them."""

    def __init__(self, input_dim: int, text_dim: int, lr: float, dim_out: int = 64, embed: int = 512,
                 hidden: int = 512, dropout: float = 0.1):
        super().__init__()
        self.O_enc = EmbeddingBlock(input_dim, embed, dropout)
        self.W_enc = EmbeddingBlock(text_dim, embed, dropout)
        self.O_proj = EmbeddingBlock(embed, dim_out, dropout, hidden)
        self.D_o = EmbeddingBlock(dim_out, embed, dropout, hidden)
        self.W_proj = EmbeddingBlock(embed, dim_out, dropout)
        self.D_w = EmbeddingBlock(dim_out, embed, dropout)
        self.optimizer = torch.optim.Adam(self.parameters(), lr=lr, weight_decay=1e-5)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(self.optimizer, "max", patience=3)
        self.mse = nn.MSELoss()
        self.ce = nn.CrossEntropyLoss()

    def forward(self, a: torch.Tensor, v: torch.Tensor, w: torch.Tensor) -> dict[str, torch.Tensor]:
        v = v.type(torch.float32)
        o = self.O_enc(torch.cat((v, a), dim=1))
        w = self.W_enc(w)
        theta_o = self.O_proj(o)
        rho_o = self.D_o(theta_o)
        theta_w = self.W_proj(w)
        rho_w = self.D_w(theta_w)
        return {"theta_w": theta_w, "w": w, "rho_w": rho_w, "theta_o": theta_o, "rho_o": rho_o}

    def compute_loss(self, out: dict, class_w: torch.Tensor, target: torch.Tensor):
        class_theta = self.W_proj(self.W_enc(class_w))
        l_ce = self.ce(torch.matmul(out["theta_o"], class_theta.t()), target)
        l_reg = self.mse(out["theta_o"], out["theta_w"])
        l_rec = self.mse(out["w"], out["rho_o"]) + self.mse(out["w"], out["rho_w"])
        total = l_rec + l_reg + l_ce
        details = {"total": total.detach().cpu(), "reg": l_reg.detach().cpu(), "rec": l_rec.detach().cpu(),
                   "ce": l_ce.detach().cpu()}
        return total, details

    def optimize_params(self, a, v, target, w, class_w, optimize: bool):
        out = self.forward(a, v, w)
        loss, details = self.compute_loss(out, class_w, target)
        if optimize:
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        return loss, details

    def get_embeddings(self, a, v, w):
        v = v.type(torch.float32)
        o = self.O_enc(torch.cat((v, a), dim=1))
        w = self.W_enc(w)
        theta_o = self.O_proj(o)
        theta_w = self.W_proj(w)
        return theta_o, theta_o, theta_w


# Data (split objects, pair dataset, collator, sampler): benchmarks/authors_style_data.py

# ----------------------------------------------------------------------------------------------
# Evaluation (the metric)


def evaluate(model: AuthorsStyleNet, split: SplitData, loader, best_beta: float | None = None) -> dict:
    """Embed the split, then the β sweep (or one β) as the authors compute it."""
    text = torch.tensor(split.all_data()["text"])
    theta_os, nums = [], []
    emb_cls = None
    for batch, target in loader:
        p = batch["positive"]
        model.eval()
        with torch.no_grad():
            _, theta_o, emb_cls = model.get_embeddings(p["audio"], p["video"], text)
            theta_os.append(theta_o)
        nums.append(target["positive"])
    theta_o, targets = torch.cat(theta_os), torch.cat(nums)
    n_all = split.num_classes
    betas = (torch.tensor([best_beta], dtype=torch.float) if best_beta else torch.linspace(0, 5, 76))
    seen = torch.tensor(split.seen_ids, dtype=torch.long)
    unseen = torch.tensor(split.unseen_ids, dtype=torch.long)
    cand = torch.tensor(np.sort(np.concatenate((split.seen_ids, split.unseen_ids))), dtype=torch.long)
    scores = {"seen": [], "unseen": [], "hm": [], "zsl": []}
    with torch.no_grad():
        for beta in betas:
            dist = torch.zeros((theta_o.shape[0], n_all), dtype=torch.float) + FAR
            dist[:, cand] = torch.cdist(theta_o.type(torch.float32), emb_cls)
            far_seen = torch.zeros(n_all, dtype=torch.long)
            far_seen[seen] = FAR
            dist_zsl = dist + far_seen
            shift = torch.zeros(n_all, dtype=torch.long) + beta
            shift[unseen] = 0
            pred = torch.argmin(dist + shift, dim=1)
            hit = pred.eq(targets.int()).nonzero().flatten()
            match = torch.bincount(pred[hit], minlength=n_all)[cand]
            total = torch.bincount(targets, minlength=n_all)[cand]
            recall = torch.zeros(n_all, dtype=torch.float)
            recall[cand] = match / total
            s, u = recall[seen].mean(), recall[unseen].mean()
            hm = (2 * u * s) / ((u + s) + EPS)
            pred_zsl = torch.argmin(dist_zsl, dim=1)
            hit = pred_zsl.eq(targets.int()).nonzero().flatten()
            match = torch.bincount(pred_zsl[hit], minlength=n_all)[cand]
            recall_zsl = torch.zeros(n_all, dtype=torch.float)
            recall_zsl[cand] = match / total
            zsl = recall_zsl[unseen].mean()
            for key, value in (("seen", s), ("unseen", u), ("hm", hm), ("zsl", zsl)):
                scores[key].append(value.item())
    best = int(np.argmax(scores["hm"]))
    return {"seen": scores["seen"][best], "unseen": scores["unseen"][best], "hm": scores["hm"][best],
            "zsl": scores["zsl"][best], "beta": betas[best].item()}


# ----------------------------------------------------------------------------------------------
# Training


def fix_seeds(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _map_labels(num: torch.Tensor, mapping: dict[int, int]) -> None:
    for i in range(num.shape[0]):
        num[i] = mapping[num[[i]].item()]


def _add_details(acc: dict, details: dict) -> None:
    for key, value in details.items():
        acc[key] = acc[key] + value if key in acc else value


def train_epoch(model: AuthorsStyleNet, loader, train_split: SplitData) -> float:
    model.train()
    class_w, mapping = train_split.map_embeddings_target()
    batch_loss, details = 0.0, {}
    batch_idx = -1
    for batch_idx, (batch, target) in enumerate(loader):
        p = batch["positive"]
        num = target["positive"]
        _map_labels(num, mapping)
        loss, loss_details = model.optimize_params(p["audio"], p["video"], num, p["text"], class_w, optimize=True)
        _add_details(details, loss_details)
        # the second train-mode pass (with graph): only logging uses its outputs
        _, theta_o, theta_w = model.get_embeddings(p["audio"], p["video"], p["text"])
        torch.stack([theta_o, theta_w], dim=0)
        batch_loss += loss.item()
    return batch_loss / (batch_idx + 1)


def val_epoch(model: AuthorsStyleNet, loader, metric) -> tuple[float, dict]:
    model.eval()
    class_w, mapping = loader.dataset_split.map_embeddings_target()
    batch_loss, details, scores = 0.0, {}, None
    batch_idx = -1
    with torch.no_grad():
        for batch_idx, (batch, target) in enumerate(loader):
            p = batch["positive"]
            num = target["positive"]
            _map_labels(num, mapping)
            loss, loss_details = model.optimize_params(p["audio"], p["video"], num, p["text"], class_w,
                                                       optimize=False)
            _add_details(details, loss_details)
            model.get_embeddings(p["audio"], p["video"], p["text"])
            batch_loss += loss.item()
            if batch_idx == 0:
                scores = metric()
    return batch_loss / (batch_idx + 1), scores


def _save(model: AuthorsStyleNet, epoch: int, path: Path) -> None:
    torch.save({"epoch": epoch + 1, "model": model.state_dict(), "optimizer": model.optimizer.state_dict()}, path)


def train_stage(splits: dict[str, SplitData], train_name: str, epochs: int, seed: int, lr: float,
                data_path: str, n_batches: int, save_dir: Path, stage: str, log=None) -> dict:
    """One run of the authors' ``main``: seed, datasets, loaders, model, epochs; returns the states kept."""
    started = time.perf_counter()
    fix_seeds(seed)
    train_split, val_split = splits[train_name], splits["val"]
    train_pairs, val_pairs = PairDataset(train_split), PairDataset(val_split)
    train_loader = _loader(train_pairs, data_path, TRAIN_WORKERS,
                           batch_sampler=BalancedBatchSampler(train_pairs, BATCH_SIZE, n_batches))
    metric_loader = _loader(val_pairs, data_path, EVAL_WORKERS_DURING_TRAINING, batch_size=BATCH_SIZE)
    val_loader = _loader(val_pairs, data_path, EVAL_WORKERS_DURING_TRAINING,
                         batch_sampler=BalancedBatchSampler(val_pairs, BATCH_SIZE, n_batches))
    val_loader.dataset_split = val_split
    input_dim = train_pairs.data["audio"].shape[1] + train_pairs.data["video"].shape[1]
    model = AuthorsStyleNet(input_dim, train_pairs.data["text"].shape[1], lr)
    best_score = best_epoch = best_loss = None
    best_state, last_state, history = None, None, []
    setup = time.perf_counter() - started
    for epoch in range(epochs):
        t0 = time.perf_counter()
        train_loss = train_epoch(model, train_loader, train_split)
        val_loss, scores = val_epoch(model, val_loader, lambda: evaluate(model, val_split, metric_loader))
        hm = scores["hm"]
        if not best_loss or val_loss < best_loss:
            best_loss = val_loss
            _save(model, epoch, save_dir / f"{stage}_loss.pt")
        if not best_score or hm > best_score:
            best_score, best_epoch = hm, epoch
            _save(model, epoch, save_dir / f"{stage}_score.pt")
            best_state = copy.deepcopy(model.state_dict())
        if stage == "stage2":
            _save(model, epoch, save_dir / f"{stage}_ckpt_{epoch}.pt")
        model.scheduler.step(hm)
        record = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_hm": hm,
                  "val_seen": scores["seen"], "val_unseen": scores["unseen"], "val_beta": scores["beta"],
                  "lr": model.optimizer.param_groups[0]["lr"], "seconds": time.perf_counter() - t0}
        history.append(record)
        if log:
            log(stage, record)
    last_state = copy.deepcopy(model.state_dict())
    return {"best_epoch": best_epoch, "best_state": best_state, "last_state": last_state, "history": history,
            "setup_seconds": setup, "input_dim": input_dim, "text_dim": train_pairs.data["text"].shape[1]}


def run_authors_style(features_table: pa.Table, classes_table: pa.Table, seed: int = 42, epochs: int = 20,
                      lr: float = 7e-5, *, data_path: str = "authors", n_batches: int = N_BATCHES,
                      text_lookup: str = "name", threads: int | None = None, stage2_epochs: int | None = None,
                      log=None) -> dict:
    """Stage 1 → stage 2 (best_epoch + 1 epochs) → β on validation → test, the authors' way.

    ``stage2_epochs`` overrides best_epoch + 1 (only for timing runs).  Returns the test S/U/HM/ZSL
    (fractions), the validation β, the stage-1 best epoch and wall-clock seconds.
    """
    if data_path not in ("authors", "fast"):
        raise ValueError("data_path must be 'authors' or 'fast'")
    if threads:
        torch.set_num_threads(threads)
    started = time.perf_counter()
    splits = build_splits(features_table, classes_table, text_lookup)
    with tempfile.TemporaryDirectory(prefix="authors_style_") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch.tensor(list of ndarrays) warns, as in theirs
        save_dir = Path(tmp)
        s1 = train_stage(splits, "train", epochs, seed, lr, data_path, n_batches, save_dir, "stage1", log)
        n2 = stage2_epochs if stage2_epochs is not None else s1["best_epoch"] + 1
        s2 = train_stage(splits, "train_val", n2, seed, lr, data_path, n_batches, save_dir, "stage2", log)
        t_eval = time.perf_counter()
        fix_seeds(seed)
        val_pairs, test_pairs = PairDataset(splits["val"]), PairDataset(splits["test"])
        val_loader = _loader(val_pairs, data_path, FINAL_EVAL_WORKERS, batch_size=BATCH_SIZE)
        test_loader = _loader(test_pairs, data_path, FINAL_EVAL_WORKERS, batch_size=BATCH_SIZE)
        model_a = AuthorsStyleNet(s1["input_dim"], s1["text_dim"], lr)
        model_b = copy.deepcopy(model_a)
        model_a.load_state_dict(torch.load(save_dir / "stage1_score.pt")["model"])
        model_b.load_state_dict(torch.load(save_dir / f"stage2_ckpt_{n2 - 1}.pt")["model"])
        model_a.eval()
        model_b.eval()
        val = evaluate(model_a, splits["val"], val_loader)
        beta = 1.0 / 3 * (3 * val["beta"] + 1e-10)  # the authors average audio/video/both βs (all equal)
        test = evaluate(model_b, splits["test"], test_loader, best_beta=beta)
        eval_seconds = time.perf_counter() - t_eval
    seconds = time.perf_counter() - started
    epoch_times = [r["seconds"] for r in s1["history"] + s2["history"]]
    return {
        "test_seen": test["seen"], "test_unseen": test["unseen"], "test_hm": test["hm"], "test_zsl": test["zsl"],
        "val_beta": val["beta"], "val_hm": val["hm"], "val_seen": val["seen"], "val_unseen": val["unseen"],
        "best_epoch": s1["best_epoch"], "stage1_epochs": len(s1["history"]), "stage2_epochs": len(s2["history"]),
        "seconds": seconds, "seconds_per_epoch": float(np.mean(epoch_times)) if epoch_times else 0.0,
        "stage1_seconds_per_epoch": float(np.mean([r["seconds"] for r in s1["history"]])),
        "stage2_seconds_per_epoch": float(np.mean([r["seconds"] for r in s2["history"]])) if s2["history"] else 0.0,
        "setup_seconds": s1["setup_seconds"] + s2["setup_seconds"], "eval_seconds": eval_seconds,
        "history": {"stage1": s1["history"], "stage2": s2["history"]},
        "settings": {"seed": seed, "epochs": epochs, "lr": lr, "data_path": data_path, "n_batches": n_batches,
                     "text_lookup": text_lookup, "torch_threads": torch.get_num_threads()},
    }


def _print_epoch(stage: str, r: dict) -> None:
    print(f"[authors-style] {stage} epoch {r['epoch']:2d}  loss {r['train_loss']:.4f}  val HM {r['val_hm']:.4f} "
          f"(S {r['val_seen']:.4f} U {r['val_unseen']:.4f} β {r['val_beta']:.3f})  lr {r['lr']:.2e}  "
          f"{r['seconds']:.1f}s", flush=True)


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import UCF_EPOCHS, UCF_LR, load_tables, machine_notes, write_json

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0, help="synthetic UCF-shaped data: fraction of UCF's videos")
    p.add_argument("--data-seed", type=int, default=0, help="seed of the synthetic data files")
    p.add_argument("--seed", type=int, default=42, help="training seed")
    p.add_argument("--epochs", type=int, default=UCF_EPOCHS)
    p.add_argument("--lr", type=float, default=UCF_LR)
    p.add_argument("--batches", type=int, default=N_BATCHES, help="batches per epoch (300 in the paper)")
    p.add_argument("--data-path", choices=("authors", "fast"), default="authors")
    p.add_argument("--text-lookup", choices=("name", "positional"), default="name")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own default)")
    p.add_argument("--check-fast", action="store_true",
                   help="run twice (authors data path, fast data path) and check the results are identical")
    p.add_argument("--json", type=Path, default=None, help="write the result here")
    args = p.parse_args(argv)
    features, classes = load_tables(args.scale, args.data_seed)
    kw = dict(seed=args.seed, epochs=args.epochs, lr=args.lr, n_batches=args.batches, text_lookup=args.text_lookup,
              threads=args.threads, log=_print_epoch)
    if args.check_fast:
        a = run_authors_style(features, classes, data_path="authors", **kw)
        b = run_authors_style(features, classes, data_path="fast", **kw)
        keys = ("test_seen", "test_unseen", "test_hm", "test_zsl", "val_beta", "best_epoch")
        same = all(a[k] == b[k] for k in keys) and all(
            x["train_loss"] == y["train_loss"] and x["val_hm"] == y["val_hm"]
            for x, y in zip(a["history"]["stage1"] + a["history"]["stage2"], b["history"]["stage1"] + b["history"]["stage2"]))
        print(json.dumps({"identical": same, "authors": {k: a[k] for k in keys + ("seconds",)},
                          "fast": {k: b[k] for k in keys + ("seconds",)}}, indent=1))
        return 0 if same else 1
    result = run_authors_style(features, classes, data_path=args.data_path, **kw)
    result["machine"] = machine_notes()
    print(f"test HM {result['test_hm']:.4f}  S {result['test_seen']:.4f}  U {result['test_unseen']:.4f}  "
          f"ZSL {result['test_zsl']:.4f}  (β {result['val_beta']:.3f}, best epoch {result['best_epoch']})  "
          f"{result['seconds']:.1f}s, {result['seconds_per_epoch']:.2f}s/epoch")
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
