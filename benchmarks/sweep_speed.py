"""Sweep speed: a 4-variant sweep vs the same 4 runs one after another; automatic threads vs 1 thread.

(a) ``avgzsl sweep --seeds 1..2 --modality audio,both`` (4 variants; --parallel and
    --threads automatic) against 4 ``avgzsl reproduce`` commands run one after another
    (each with automatic threads), on the same UCF-shaped synthetic feature set, each in
    a fresh state folder;
(b) one ``avgzsl reproduce`` with automatic threads against ``AVGZSL_TORCH_THREADS=1``.

Wall time of whole commands (imports, Dagster, MLflow and reports included); the
machine's load average is printed before each measurement: run it on a quiet machine.

    .venv/bin/python benchmarks/sweep_speed.py --scale 0.25 --epochs 4 --batches 150
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_notes, synthetic_root  # noqa: E402

CLI = [sys.executable, "-m", "pipelines.cli"]


def _timed(args: list[str], env: dict) -> float:
    load = os.getloadavg()[0]
    started = time.perf_counter()
    subprocess.run(CLI + args, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    print(f"  {seconds:7.1f} s  (load before {load:.2f})  avgzsl {' '.join(args[:3])} ...", flush=True)
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scale", type=float, default=0.25, help="fraction of UCF's video counts")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batches", type=int, default=150, help="batches per epoch")
    p.add_argument("--out", type=Path, default=None, help="write the numbers as JSON here")
    args = p.parse_args()
    root = synthetic_root(args.scale)
    common = ["--features-root", str(root), "--epochs", str(args.epochs), "--batches-per-epoch", str(args.batches)]
    base_env = {k: v for k, v in os.environ.items() if k not in ("AVGZSL_TORCH_THREADS", "AVGZSL_HOME")}
    results: dict = {"machine": machine_notes(), "scale": args.scale, "epochs": args.epochs,
                     "batches_per_epoch": args.batches}

    def fresh(extra: dict | None = None) -> dict:
        return {**base_env, "AVGZSL_HOME": tempfile.mkdtemp(prefix="avgzsl-sweep-bench-"), **(extra or {})}

    print("(a) 4 variants: one sweep vs 4 runs one after another")
    with tempfile.TemporaryDirectory() as out:
        results["sweep_s"] = _timed(["sweep", "--dataset", "ucf", *common, "--seeds", "1..2", "--modality",
                                     "audio,both", "--report-dir", f"{out}/sweep"], fresh())
        env = fresh()
        results["sequential_s"] = sum(
            _timed(["reproduce", "--dataset", "ucf", *common, "--seed", str(seed), "--modality", modality,
                    "--report-dir", f"{out}/{modality}-{seed}"], env)
            for modality in ("audio", "both") for seed in (1, 2))
    print("(b) one run: automatic threads vs 1 thread")
    with tempfile.TemporaryDirectory() as out:
        results["auto_threads_s"] = _timed(["reproduce", "--dataset", "ucf", *common, "--report-dir", f"{out}/a"],
                                           fresh())
        results["one_thread_s"] = _timed(["reproduce", "--dataset", "ucf", *common, "--report-dir", f"{out}/b"],
                                         fresh({"AVGZSL_TORCH_THREADS": "1"}))
    results["sweep_speedup"] = results["sequential_s"] / results["sweep_s"]
    results["auto_vs_one_thread"] = results["one_thread_s"] / results["auto_threads_s"]
    print(json.dumps({k: v for k, v in results.items() if k != "machine"}, indent=1))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
