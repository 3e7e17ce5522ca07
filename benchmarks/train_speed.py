"""Training speed on UCF-shaped synthetic data, CPU: bare loop vs ours vs the authors-style baseline.

Measures, on the synthetic UCF-shaped set (scale 1.0: 3174 training videos, 512-d video, 1024-d audio,
512 + 1024-d text):

(i)   a BARE training loop: our network (``avgzsl.clipclap.model.ClipClap.losses``), 300 steps at batch 64 over
      pre-gathered tensors of random class-balanced rows, ``torch.optim.Adam`` with its defaults
      (weight decay 1e-5) and nothing else: no validation, no sampling, no logging pass.  Also with
      ``fused=True`` Adam, which is what our ``train_stage`` uses on CPU.
(ii)  our ``train_stage`` per epoch (300 steps + the per-epoch validation), with the authors'
      post-step BatchNorm refresh (``logging_pass=True``, the default) and without it.
(iii) the authors-style baseline (``benchmarks/authors_style.py``, our re-implementation of their
      code paths) per epoch, from a short run: ``--baseline-epochs`` epochs per stage.
(iv)  end to end: our ``run_protocol`` with the paper's UCF settings (20 epochs, lr 7e-5), and the
      authors-style end to end *extrapolated* from (iii): setup + 20 × stage-1 epoch + (our
      best_epoch + 1) × stage-2 epoch + final evaluation.  ``--with-cli`` also times the real
      ``avgzsl reproduce`` command (Dagster + MLflow included) on the same files.

(i) and (ii) run at 1 and 2 torch threads (``--threads``).  The baseline runs with torch's default
thread count (its code sets none; 2 on a 2-core machine) and with 1 thread (``--baseline-threads``);
compare against the faster of the two.  ``vs_fastest_bare``: our epoch / the fastest bare epoch at the
same thread count; ``vs_ours_1t``: baseline epoch / our epoch (logging_pass=True, 1 thread, the
default of ``reproduce``).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from _common import BENCH_DIR, UCF_EPOCHS, UCF_LR, load_tables, machine_notes, print_table, synthetic_root, write_json  # noqa: E402


def bare_loop(data, steps: int, epochs: int, lr: float, fused: bool, seed: int = 42) -> list[float]:
    """Seconds per epoch of a bare loop over pre-gathered batches (the same network and losses)."""
    from avgzsl.clipclap.model import ClipClapConfig, build_model
    from avgzsl.clipclap.train import BalancedSampler
    from avgzsl.names import STAGE_1_TRAIN_SPLITS

    torch.manual_seed(seed)
    rows = data.rows(*STAGE_1_TRAIN_SPLITS)
    class_ids = torch.unique(data.labels[rows])
    class_w = data.text[class_ids]
    sampler = BalancedSampler(data.labels[rows], torch.Generator().manual_seed(seed))
    batch_rows, batch_cls = sampler.draw(steps, 64)
    xs = data.inputs[rows[batch_rows]]  # (steps, 64, input_dim), gathered before timing
    model = build_model(ClipClapConfig(input_dim=data.inputs.shape[1], text_dim=data.text.shape[1]))
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-5, **({"fused": True} if fused else {}))
    model.train()
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        for step in range(steps):
            loss = model.losses(xs[step], class_w, batch_cls[step])["loss"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return times


def ours_epochs(data, epochs: int, lr: float, logging_pass: bool, batches: int) -> list[float]:
    """Seconds per epoch of our ``train_stage`` (stage 1: training + per-epoch validation)."""
    from avgzsl.clipclap.train import EvalSplit, TrainConfig, train_stage
    from avgzsl.names import STAGE_1_TRAIN_SPLITS, VALIDATION

    cfg = TrainConfig(epochs=epochs, lr=lr, logging_pass=logging_pass, batches_per_epoch=batches)
    val = EvalSplit.of(data, VALIDATION)
    result = train_stage(data, STAGE_1_TRAIN_SPLITS, val, epochs, cfg, select_best=True)
    return [r.seconds for r in result.history]


def ours_end_to_end(data, epochs: int, lr: float, batches: int, logging_pass: bool = True) -> dict:
    from avgzsl.clipclap.protocol import run_protocol
    from avgzsl.clipclap.train import TrainConfig

    cfg = TrainConfig(epochs=epochs, lr=lr, batches_per_epoch=batches, logging_pass=logging_pass)
    t0 = time.perf_counter()
    result = run_protocol(data, cfg)
    seconds = time.perf_counter() - t0
    m = result.metrics()
    return {"seconds": seconds, "best_epoch": m["best_epoch"], "stage1_epochs": m["stage1_epochs"],
            "stage2_epochs": m["stage2_epochs"], "test_hm": m["test_hm"],
            "stage1_epoch_seconds": [r.seconds for r in result.stage1.history],
            "stage2_epoch_seconds": [r.seconds for r in result.stage2.history]}


def cli_end_to_end(root: Path) -> dict:
    """Wall time of ``avgzsl reproduce`` (a fresh state folder; import + Dagster + MLflow + training)."""
    exe = Path(sys.executable).with_name("avgzsl")
    with tempfile.TemporaryDirectory(prefix="avgzsl_cli_") as tmp:
        cmd = [str(exe), "--home", f"{tmp}/home", "reproduce", "--dataset", "ucf", "--features-root", str(root),
               "--report-dir", f"{tmp}/out", "--device", "cpu"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rc": proc.returncode, "stdout_tail": proc.stdout[-600:], "stderr_tail": proc.stderr[-600:]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--threads", default="1,2", help="torch thread counts for the bare loop and ours")
    p.add_argument("--epochs", type=int, default=2, help="timed epochs per configuration (bare, ours)")
    p.add_argument("--batches", type=int, default=300, help="steps per epoch (300 in the paper; fewer to test the script)")
    p.add_argument("--baseline-epochs", type=int, default=2, help="authors-style epochs per stage for the per-epoch timing")
    p.add_argument("--baseline-threads", default="default,1",
                   help="torch threads for the baseline: 'default' (torch's own, as the authors' code), or e.g. '2,1'")
    p.add_argument("--skip-baseline", action="store_true")
    p.add_argument("--skip-e2e", action="store_true", help="skip our full run_protocol (20 epochs)")
    p.add_argument("--e2e-epochs", type=int, default=UCF_EPOCHS)
    p.add_argument("--with-cli", action="store_true", help="also time `avgzsl reproduce` end to end")
    p.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "train_speed.json")
    args = p.parse_args(argv)

    from avgzsl.clipclap.inputs import build_protocol_data

    notes_before = machine_notes()
    print(f"machine: {notes_before['cpu']}, {notes_before['cores']} cores; {notes_before['uptime']}", flush=True)
    features, classes = load_tables(args.scale)
    data = build_protocol_data(features, classes)
    threads = [int(t) for t in args.threads.split(",")]
    results: dict = {"settings": vars(args) | {"out": str(args.out)}, "machine_before": notes_before,
                     "per_epoch": [], "end_to_end": {}}
    default_threads = torch.get_num_threads()

    rows = []
    for n in threads:
        torch.set_num_threads(n)
        for name, fn in (
            ("bare loop, Adam (defaults)", lambda: bare_loop(data, args.batches, args.epochs, UCF_LR, fused=False)),
            ("bare loop, Adam fused", lambda: bare_loop(data, args.batches, args.epochs, UCF_LR, fused=True)),
            ("ours train_stage, logging_pass=True", lambda: ours_epochs(data, args.epochs, UCF_LR, True, args.batches)),
            ("ours train_stage, logging_pass=False", lambda: ours_epochs(data, args.epochs, UCF_LR, False, args.batches)),
        ):
            times = fn()
            row = {"what": name, "threads": n, "epochs": len(times), "median_s": statistics.median(times),
                   "min_s": min(times), "all_s": [round(t, 3) for t in times]}
            rows.append(row)
            print(f"  {name} @ {n} thread(s): {row['all_s']}", flush=True)

    if not args.skip_baseline:
        from authors_style import run_authors_style

        for spec in args.baseline_threads.split(","):
            n = default_threads if spec == "default" else int(spec)
            torch.set_num_threads(n)
            r = run_authors_style(features, classes, seed=42, epochs=args.baseline_epochs, lr=UCF_LR,
                                  n_batches=args.batches, stage2_epochs=args.baseline_epochs, data_path="authors")
            s1 = [h["seconds"] for h in r["history"]["stage1"]]
            s2 = [h["seconds"] for h in r["history"]["stage2"]]
            label = "authors-style, torch default threads" if spec == "default" else f"authors-style, {n} thread(s)"
            for stage, times in (("stage 1", s1), ("stage 2", s2)):
                rows.append({"what": f"{label} ({stage})", "threads": n, "epochs": len(times),
                             "median_s": statistics.median(times), "min_s": min(times),
                             "all_s": [round(t, 3) for t in times]})
                print(f"  authors-style {stage} @ {n} thread(s): {rows[-1]['all_s']}", flush=True)
            results.setdefault("baseline_runs", []).append(
                {"threads": n, "spec": spec, "stage1_epoch_s": s1, "stage2_epoch_s": s2,
                 "setup_s": r["setup_seconds"], "eval_s": r["eval_seconds"], "total_s": r["seconds"]})
    results["per_epoch"] = rows

    # ratios against the fastest bare loop at the same thread count
    for n in threads:
        bare = min(r["median_s"] for r in rows if r["threads"] == n and r["what"].startswith("bare"))
        for r in rows:
            if r["threads"] == n and r["what"].startswith("ours"):
                r["vs_fastest_bare"] = r["median_s"] / bare
    ours_ref = [r["median_s"] for r in rows if r["what"] == "ours train_stage, logging_pass=True" and r["threads"] == 1]
    if ours_ref:
        for r in rows:
            if r["what"].startswith("authors"):
                r["vs_ours_1t"] = r["median_s"] / ours_ref[0]
    print()
    table = print_table(rows, ["what", "threads", "epochs", "median_s", "min_s", "vs_fastest_bare", "vs_ours_1t"],
                        f"Seconds per epoch ({args.batches} steps of 64)")
    results["per_epoch_table"] = table

    if not args.skip_e2e:
        torch.set_num_threads(1)  # what `reproduce` uses (avgzsl.clipclap.protocol.configure_threads)
        e2e = ours_end_to_end(data, args.e2e_epochs, UCF_LR, args.batches)
        results["end_to_end"]["ours"] = e2e
        print(f"  ours run_protocol end to end: {e2e['seconds']:.1f}s (best epoch {e2e['best_epoch']}, "
              f"HM {e2e['test_hm']:.4f})", flush=True)
        for run in results.get("baseline_runs", []):
            est = (run["setup_s"] + args.e2e_epochs * statistics.median(run["stage1_epoch_s"])
                   + (e2e["best_epoch"] + 1) * statistics.median(run["stage2_epoch_s"]) + run["eval_s"])
            run["extrapolated_end_to_end_s"] = est
        n_epochs = e2e["stage1_epochs"] + e2e["stage2_epochs"]
        e2e_rows = [{"what": "ours run_protocol (measured, 1 thread)", "seconds": e2e["seconds"],
                     "stage epochs": f"{e2e['stage1_epochs']} + {e2e['stage2_epochs']}"}]
        for r in rows:  # a bare loop for the same number of steps, from its per-epoch time at 1 thread
            if r["what"].startswith("bare") and r["threads"] == 1:
                e2e_rows.append({"what": f"{r['what']} x {n_epochs} epochs (estimated, 1 thread)",
                                 "seconds": r["median_s"] * n_epochs, "stage epochs": f"{n_epochs} x {args.batches} steps",
                                 "ours / bare": e2e["seconds"] / (r["median_s"] * n_epochs)})
        n_fixed = len(e2e_rows)
        for run in results.get("baseline_runs", []):
            e2e_rows.append({"what": f"authors-style (extrapolated, {run['threads']} threads)",
                             "seconds": run["extrapolated_end_to_end_s"],
                             "stage epochs": f"{args.e2e_epochs} + {e2e['best_epoch'] + 1}",
                             "authors / ours": run["extrapolated_end_to_end_s"] / e2e["seconds"]})
        if args.with_cli:
            cli = cli_end_to_end(synthetic_root(args.scale))
            results["end_to_end"]["cli"] = cli
            e2e_rows.append({"what": "`avgzsl reproduce` CLI (measured; Dagster+MLflow, import, report)",
                             "seconds": cli["seconds"], "stage epochs": f"rc={cli['rc']}"})
            for row in e2e_rows[n_fixed:-1]:
                row["authors / CLI"] = row["seconds"] / cli["seconds"]
        print()
        results["end_to_end_table"] = print_table(
            e2e_rows, ["what", "seconds", "stage epochs", "ours / bare", "authors / ours", "authors / CLI"],
            "End to end")
        results["end_to_end_rows"] = e2e_rows
    results["machine_after"] = machine_notes()
    print(f"\nload: before {notes_before['loadavg']}, after {results['machine_after']['loadavg']}")
    write_json(args.out, results)
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
