"""Torch threads per run: speed and results of our ``train_stage`` at 1, 2, ... threads (CPU).

Trains stage 1 (``avgzsl.clipclap.train.train_stage``, the paper's UCF lr, batch 64, the
authors' logging pass) for ``--epochs`` epochs of ``--batches`` batches on the synthetic
UCF-shaped set (``benchmarks/_common.py``), once per thread count, ``--repeats`` times with the
thread counts interleaved (so a change of load hits every count alike).  Reports per thread
count the median seconds per epoch, the ratio to the default (``avgzsl.runtime.default_threads``)
and whether the trained model and its validation HM are bit-identical to the 1-thread run: the
thread count changes torch's CPU reductions (BatchNorm statistics, full sums), so results differ.
``--deterministic`` also sets ``torch.use_deterministic_algorithms(True)`` (it does not change
that: CPU reductions split by thread count are not covered by it).

    .venv/bin/python benchmarks/threads.py --threads 1,2 --epochs 3 --batches 100 --repeats 2

Read the timings with the load average printed before and after: on a busy machine more threads
than free cores oversubscribe.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from _common import BENCH_DIR, UCF_LR, load_tables, machine_notes, print_table, write_json  # noqa: E402


def train(data, threads: int, epochs: int, batches: int) -> tuple[list[float], float, str]:
    """Seconds per epoch, the best validation HM and a digest of the selected model's weights."""
    from avgzsl.clipclap.train import EvalSplit, TrainConfig, train_stage
    from avgzsl.names import STAGE_1_TRAIN_SPLITS, VALIDATION

    torch.set_num_threads(threads)
    cfg = TrainConfig(epochs=epochs, lr=UCF_LR, batches_per_epoch=batches)
    result = train_stage(data, STAGE_1_TRAIN_SPLITS, EvalSplit.of(data, VALIDATION), epochs, cfg, select_best=True)
    digest = hashlib.sha256()
    for name, tensor in sorted(result.model.state_dict().items()):
        digest.update(name.encode() + tensor.detach().cpu().numpy().tobytes())
    return [r.seconds for r in result.history], result.history[result.best_epoch].val_hm, digest.hexdigest()[:12]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batches", type=int, default=100, help="batches of 64 per epoch (the paper: 300)")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--scale", type=float, default=1.0, help="size of the synthetic set (1.0: UCF's)")
    p.add_argument("--deterministic", action="store_true", help="torch.use_deterministic_algorithms(True)")
    p.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "threads.json")
    args = p.parse_args(argv)

    from avgzsl.clipclap.inputs import build_protocol_data
    from avgzsl.runtime import default_threads

    if args.deterministic:
        torch.use_deterministic_algorithms(True)
    before = machine_notes()
    print(f"machine: {before['cpu']}, {before['cores']} cores; {before['uptime']}", flush=True)
    data = build_protocol_data(*load_tables(args.scale))
    counts = [int(t) for t in args.threads.split(",")]
    runs: dict[int, list] = {t: [] for t in counts}
    for _ in range(args.repeats):
        for t in counts:
            runs[t].append(train(data, t, args.epochs, args.batches))
            print(f"{t} thread(s): {[round(x, 3) for x in runs[t][-1][0]]} s/epoch, val HM {runs[t][-1][1]:.4f}, "
                  f"weights {runs[t][-1][2]}; load {os.getloadavg()[0]:.1f}", flush=True)
    default = default_threads()
    medians = {t: statistics.median(s for seconds, _, _ in runs[t] for s in seconds) for t in counts}
    base = runs[counts[0]][0]
    rows = [{"threads": t, "default": "yes" if t == default else "", "median_s_per_epoch": medians[t],
             "vs_default": medians[t] / medians[default] if default in medians else None,
             "best_val_hm": runs[t][0][1], "weights": runs[t][0][2],
             "same_as_first": "yes" if all(r[1:] == base[1:] for r in runs[t]) else "no"} for t in counts]
    after = machine_notes()
    print(f"after: {after['uptime']}", flush=True)
    print_table(rows, list(rows[0]), title=f"{args.epochs} epochs x {args.batches} batches, {args.repeats} repeats"
                                           f"{', deterministic algorithms' if args.deterministic else ''}")
    write_json(args.out, {"settings": vars(args) | {"out": str(args.out)}, "default_threads": default,
                          "machine_before": before, "machine_after": after, "rows": rows,
                          "seconds": {t: [r[0] for r in runs[t]] for t in counts}})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
