"""Our side of the baseline benchmarks: a method of ``avgzsl.methods`` through our shared GZSL protocol.

``run_ours_protocol`` runs the protocol every method shares (``avgzsl.clipclap.protocol.run_protocol``:
stage 1 with best epoch and β on validation, stage 2 on train + val, test) with the method's UCF
preset, except the epochs and batches per epoch of the reduced protocol; ``time_train_steps``
times its training steps alone (validation left out), for ``baselines_speed.py``.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path


def _tables(root: Path):
    from avgzsl.data.authors import import_authors_root

    imported = import_authors_root(root, "ucf")
    return imported.features, imported.classes


def train_config(method_name: str, seed: int, epochs: int, batches: int, batch_size: int | None = None):
    from avgzsl.clipclap.train import TrainConfig
    from avgzsl.methods.registry import get_method

    method = get_method(method_name)
    preset = dataclasses.asdict(method.preset("ucf"))
    preset.update(epochs=epochs, batches_per_epoch=batches, seed=seed)
    if batch_size:
        preset["batch_size"] = batch_size
    return method, TrainConfig(**preset, dataset="ucf")


def run_ours_protocol(method_name: str, seed: int, root: Path, epochs: int, batches: int,
                      text_lookup: str = "positional") -> dict:
    """``text_lookup="positional"``: the class text looked up as the original code does (docs/method.md,
    "Class-embedding lookup"), for an exact comparison; ``"name"``: our default."""
    import torch

    from avgzsl.clipclap.inputs import build_protocol_data
    from avgzsl.clipclap.protocol import run_protocol

    from avgzsl.clipclap import train as train_mod

    torch.set_num_threads(1)
    features, classes = _tables(root)
    data = build_protocol_data(features, classes, text_lookup=text_lookup)
    method, cfg = train_config(method_name, seed, epochs, batches)
    validate, validate_s = train_mod.validate, []

    def timed_validate(*args, **kwargs):  # the per-epoch validation HM
        t0 = time.perf_counter()
        out = validate(*args, **kwargs)
        validate_s.append(time.perf_counter() - t0)
        return out

    train_mod.validate = timed_validate
    try:
        t0 = time.perf_counter()
        result = run_protocol(data, cfg, method=method)
        seconds = time.perf_counter() - t0
    finally:
        train_mod.validate = validate
    m = result.metrics()
    epochs_run = [r.seconds for r in result.stage1.history + result.stage2.history]
    return {"train_batch_s": (sum(epochs_run) - sum(validate_s)) / (len(epochs_run) * batches),
            "val_metric_s": sum(validate_s) / len(validate_s), "epochs_run": len(epochs_run),"test_hm": m["test_hm"], "test_seen": m["test_seen"], "test_unseen": m["test_unseen"],
            "test_zsl": m["test_zsl"], "beta": m["val_beta"], "best_epoch": m["best_epoch"],
            "protocol_s": seconds, "epoch_s": sum(epochs_run) / len(epochs_run), "seconds": seconds,
            "preset": dataclasses.asdict(cfg), "text_lookup": text_lookup}


class OursSteps:
    """Our training steps of one method on the synthetic root's stage-1 training split, validation stubbed."""

    def __init__(self, method_name: str, root: Path, batch_size: int, seed: int = 0):
        from avgzsl.clipclap.inputs import build_protocol_data
        from avgzsl.clipclap.train import EvalSplit
        from avgzsl.names import STAGE_1_TRAIN_SPLITS, VALIDATION

        self.data = build_protocol_data(*_tables(root))
        self.method_name, self.batch_size, self.seed = method_name, batch_size, seed
        self.val = EvalSplit.of(self.data, VALIDATION)
        self.train_splits = STAGE_1_TRAIN_SPLITS

    def run(self, batches: int) -> float:
        """Seconds for one epoch of ``batches`` steps of our training loop (``train_stage``), no validation."""
        from avgzsl.clipclap import metrics as ev
        from avgzsl.clipclap import train as train_mod

        method, cfg = train_config(self.method_name, self.seed, 1, batches, self.batch_size)
        validate = train_mod.validate
        train_mod.validate = lambda *args, **kwargs: ev.GzslScores(seen=0.0, unseen=0.0, hm=0.0, zsl=0.0, beta=0.0)
        try:
            t0 = time.perf_counter()
            train_mod.train_stage(self.data, self.train_splits, self.val, 1, cfg, select_best=False, method=method)
            return time.perf_counter() - t0
        finally:
            train_mod.validate = validate
