"""Fidelity: our ``run_protocol`` vs the authors-style baseline on the same synthetic UCF-shaped files.

For each training seed (default 0, 1, 2; the data files are the same for every seed) this runs

* ``ours``       — ``avgzsl.clipclap.protocol.run_protocol`` with the paper's UCF settings (20 epochs, lr 7e-5,
                   300 batches of 64, ``logging_pass=True``: the authors' post-step BatchNorm refresh);
* ``ours_nolp``  — the same with ``logging_pass=False`` (does leaving out that refresh matter?);
* ``authors``    — ``benchmarks/authors_style.py`` (our re-implementation of the authors' code paths),
                   by default through its ``fast`` data path, which gives the same numbers as its
                   DataLoader path (``authors_style.py --check-fast``) in less time;

and reports test S, U, HM, ZSL per seed, their means, the seed-to-seed spread and the difference of
means.  Every run is saved as JSON under ``--out`` as soon as it finishes; a rerun skips the runs that
are already there (delete the folder to start over).  ``--epochs``/``--batches`` shrink the runs to
check the script.  All runs use 1 torch thread; ``--jobs 2`` runs two at a time (2 cores).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_DIR, UCF_EPOCHS, UCF_LR, load_tables, machine_notes, print_table, write_json  # noqa: E402

VARIANTS = ("ours", "ours_nolp", "authors")
METRICS = ("test_hm", "test_seen", "test_unseen", "test_zsl")


def run_one(variant: str, seed: int, args) -> dict:
    import torch

    torch.set_num_threads(1)
    features, classes = load_tables(args.scale, args.data_seed)
    t0 = time.perf_counter()
    if variant in ("ours", "ours_nolp"):
        from avgzsl.clipclap.inputs import build_protocol_data
        from avgzsl.clipclap.protocol import run_protocol
        from avgzsl.clipclap.train import TrainConfig

        data = build_protocol_data(features, classes, text_lookup=args.text_lookup)
        cfg = TrainConfig(epochs=args.epochs, lr=args.lr, seed=seed, batches_per_epoch=args.batches,
                          logging_pass=variant == "ours")
        protocol = run_protocol(data, cfg)
        m = protocol.metrics()
        result = {k: m[k] for k in METRICS + ("val_beta", "val_hm", "best_epoch", "stage1_epochs", "stage2_epochs")}
        result["history"] = {"stage1": [r.as_dict() for r in protocol.stage1.history],
                             "stage2": [r.as_dict() for r in protocol.stage2.history]}
    else:
        from authors_style import run_authors_style

        r = run_authors_style(features, classes, seed=seed, epochs=args.epochs, lr=args.lr, n_batches=args.batches,
                              data_path=args.data_path, text_lookup=args.text_lookup, threads=1)
        result = {k: r[k] for k in METRICS + ("val_beta", "val_hm", "best_epoch", "stage1_epochs", "stage2_epochs")}
        result["history"] = r["history"]
    result.update({"variant": variant, "seed": seed, "seconds": time.perf_counter() - t0,
                   "settings": _settings(args), "machine": machine_notes()})
    return result


def _settings(args) -> dict:
    return {"epochs": args.epochs, "lr": args.lr, "batches": args.batches, "scale": args.scale,
            "data_seed": args.data_seed, "text_lookup": args.text_lookup, "data_path": args.data_path}


def _path(out: Path, variant: str, seed: int) -> Path:
    return out / f"{variant}_seed{seed}.json"


def _load(out: Path, variant: str, seed: int, args) -> dict | None:
    path = _path(out, variant, seed)
    if not path.exists():
        return None
    result = json.loads(path.read_text())
    return result if result.get("settings") == _settings(args) else None


def _child_cmd(variant: str, seed: int, args) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--only", f"{variant}:{seed}", "--out", str(args.out),
            "--epochs", str(args.epochs), "--lr", repr(args.lr), "--batches", str(args.batches),
            "--scale", repr(args.scale), "--data-seed", str(args.data_seed), "--text-lookup", args.text_lookup,
            "--data-path", args.data_path]


def summarize(results: dict[tuple[str, int], dict], variants: list[str], seeds: list[int]) -> dict:
    rows, means = [], {}
    for seed in seeds:
        row = {"seed": seed}
        for v in variants:
            r = results.get((v, seed))
            for k in METRICS:
                row[f"{v} {k[5:]}"] = 100 * r[k] if r else None
            row[f"{v} ep"] = r["best_epoch"] if r else None
        rows.append(row)
    for v in variants:
        done = [results[(v, s)] for s in seeds if (v, s) in results]
        if not done:
            continue
        means[v] = {k: 100 * statistics.mean(r[k] for r in done) for k in METRICS}
        means[v]["n"] = len(done)
        means[v]["hm_sd"] = 100 * statistics.stdev(r["test_hm"] for r in done) if len(done) > 1 else None
        means[v]["seconds_mean"] = statistics.mean(r["seconds"] for r in done)
    diffs = {}
    for a, b in (("ours", "authors"), ("ours_nolp", "authors"), ("ours_nolp", "ours")):
        common = [s for s in seeds if (a, s) in results and (b, s) in results]
        if common:
            d = {k: statistics.mean(100 * (results[(a, s)][k] - results[(b, s)][k]) for s in common) for k in METRICS}
            d["seeds"] = common
            d["hm_per_seed"] = [100 * (results[(a, s)]["test_hm"] - results[(b, s)]["test_hm"]) for s in common]
            diffs[f"{a} - {b}"] = d
    curves = {}
    for v in variants:  # mean stage-1 validation curve over the seeds whose history was stored
        hist = [results[(v, s)]["history"]["stage1"] for s in seeds if "history" in results.get((v, s), {})]
        if hist:
            n = min(len(h) for h in hist)
            curves[v] = {k: [100 * statistics.mean(h[e][k] for h in hist) for e in range(n)]
                         for k in ("val_hm", "val_seen", "val_unseen")}
            curves[v]["val_beta"] = [statistics.mean(h[e]["val_beta"] for h in hist) for e in range(n)]
            curves[v]["seeds"] = len(hist)
    return {"rows": rows, "means": means, "diffs": diffs, "curves": curves}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--epochs", type=int, default=UCF_EPOCHS)
    p.add_argument("--lr", type=float, default=UCF_LR)
    p.add_argument("--batches", type=int, default=300)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--text-lookup", choices=("name", "positional"), default="name")
    p.add_argument("--data-path", choices=("fast", "authors"), default="fast",
                   help="the baseline's data path (same numbers; 'authors' is much slower)")
    p.add_argument("--jobs", type=int, default=1, help="runs at a time (each 1 torch thread)")
    p.add_argument("--quick", action="store_true", help="a check of the script: 2 epochs of 30 batches")
    p.add_argument("--out", type=Path, default=None, help=f"results folder (default {BENCH_DIR}/results/fidelity-...)")
    p.add_argument("--only", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.batches = 2, 30
    if args.out is None:
        args.out = BENCH_DIR / "results" / f"fidelity-e{args.epochs}-b{args.batches}-{args.text_lookup}"
    seeds = [int(s) for s in args.seeds.split(",")]
    variants = [v for v in args.variants.split(",") if v]
    if args.only:
        variant, seed = args.only.split(":")
        result = run_one(variant, int(seed), args)
        write_json(_path(args.out, variant, int(seed)), result)
        return 0

    print(f"machine: {machine_notes()['uptime']}", flush=True)
    todo = [(v, s) for s in seeds for v in variants if _load(args.out, v, s, args) is None]
    print(f"{len(todo)} run(s) to do: {todo}", flush=True)
    running: list[tuple[tuple[str, int], subprocess.Popen, float]] = []
    while todo or running:
        while todo and len(running) < args.jobs:
            job = todo.pop(0)
            running.append((job, subprocess.Popen(_child_cmd(*job, args)), time.time()))
        time.sleep(1)
        for item in list(running):
            job, proc, started = item
            if proc.poll() is not None:
                running.remove(item)
                r = _load(args.out, *job, args)
                status = (f"HM {100 * r['test_hm']:.2f}  S {100 * r['test_seen']:.2f}  U {100 * r['test_unseen']:.2f}  "
                          f"ZSL {100 * r['test_zsl']:.2f}  best epoch {r['best_epoch']}") if r else f"FAILED rc={proc.returncode}"
                print(f"  {job[0]} seed {job[1]}: {status}  ({time.time() - started:.0f}s)", flush=True)

    results = {(v, s): r for s in seeds for v in variants if (r := _load(args.out, v, s, args)) is not None}
    summary = summarize(results, variants, seeds)
    cols = ["seed"] + [f"{v} {k}" for v in variants for k in ("hm", "seen", "unseen", "zsl", "ep")]
    print()
    tables = [print_table(summary["rows"], cols, "Test scores per seed (%)")]
    mean_rows = [{"variant": v, **{k[5:]: m[k] for k in METRICS}, "HM sd": m["hm_sd"], "n": m["n"],
                  "s/run": m["seconds_mean"]} for v, m in summary["means"].items()]
    print()
    tables.append(print_table(mean_rows, ["variant", "n", "hm", "seen", "unseen", "zsl", "HM sd", "s/run"],
                              "Means over seeds (%)"))
    diff_rows = [{"difference": name, **{k[5:]: d[k] for k in METRICS},
                  "HM per seed": ", ".join(f"{x:+.2f}" for x in d["hm_per_seed"])} for name, d in summary["diffs"].items()]
    print()
    tables.append(print_table(diff_rows, ["difference", "hm", "seen", "unseen", "zsl", "HM per seed"],
                              "Differences of means (points)"))
    curves = summary["curves"]
    if curves:
        n = min(len(c["val_hm"]) for c in curves.values())
        curve_rows = [{"epoch": e, **{f"{v} {k}": c[f"val_{k}"][e] for v, c in curves.items()
                                      for k in ("hm", "seen", "unseen", "beta")}} for e in range(n)]
        print()
        tables.append(print_table(
            curve_rows, ["epoch"] + [f"{v} {k}" for v in curves for k in ("hm", "seen", "unseen", "beta")],
            "Stage-1 validation curves, mean over seeds (%; β as is)"))
    write_json(args.out / "summary.json", {"summary": summary, "tables": tables, "settings": _settings(args),
                                           "machine": machine_notes()})
    print(f"\nresults: {args.out}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
