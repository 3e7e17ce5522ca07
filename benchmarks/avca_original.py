"""Fidelity: the original AVCA-GZSL code vs ours, CJME / AVGZSLNet / AVCA, per seed, on the same synthetic features.

The original code (github.com/ExplainableML/AVCA-GZSL, MIT) is never part of the package: its ``src/``,
``main.py`` and ``get_evaluation.py`` are copied at run time into ``<work>/original`` from
``--original`` (or ``$AVCA_GZSL_REPO``): a git checkout or bare git directory (``git archive HEAD``),
or a folder that holds ``src/``.  It is adapted only as the ClipClap paper adapted the baselines
(``avca_original_patches.py``: ``W_enc`` on concat(CLIP text, CLAP text), input sizes 512/1024),
then runs *its own* protocol: ``main.py`` stage 1 (train, best epoch on val HM), ``main.py
--retrain_all`` stage 2 (train + val, a checkpoint per epoch), ``get_evaluation.py`` (β on val
with the stage-1 model, test with the stage-2 checkpoint of the best epoch), with the flags of its
``run_scripts/UCF-GZSL/{cjme,avgzslnet,avca}.sh``, on the CPU.

The data: the synthetic UCF-shaped root (``_common.synthetic_root``), written a second time in the
original's layout (``<work>/avca-root``: h5 feature files, ``ucf_w2v_class_names.csv``, the text
file holding concat(CLIP 512, CLAP 1024) per class).  Ours reads the same root with our importer.

Each run is saved as JSON under ``--out`` as soon as it finishes; a rerun skips finished runs.
Every run uses 1 torch thread.  ``--epochs``/``--batches`` give the reduced protocol (both sides).

    .venv/bin/python benchmarks/avca_original.py --scale 0.2 --epochs 4 --batches 20 --seeds 0,1,2
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_DIR, machine_notes, print_table, synthetic_root, write_json  # noqa: E402

DEFAULT_ORIGINAL = "/work/.mirror/ExplainableML+AVCA-GZSL/repo"
METHODS = ("cjme", "avgzslnet", "avca")
FEATURES = "clipclap_features"  # the original's --feature_extraction_method folder name
SPLIT = "cls_split"
# run_scripts/UCF-GZSL/<method>.sh, main-features lines, without --epochs/--n_batches (given per run).
TRAIN_FLAGS = {
    "cjme": ["--lr_scheduler", "--lr", "0.001", "--decoder_use_bn", "--embedding_use_bn",
             "--normalize_decoder_outputs", "--dropout_baselines", "0.2", "--cjme"],
    "avgzslnet": ["--lr_scheduler", "--lr", "0.001", "--decoder_use_bn", "--embedding_use_bn",
                  "--normalize_decoder_outputs"],
    "avca": ["--lr_scheduler", "--AVCA", "--lr", "0.001", "--embeddings_hidden_size", "512",
             "--decoder_hidden_size", "512", "--embedding_dropout", "0.2", "--decoder_dropout", "0.3",
             "--additional_dropout", "0.5", "--depth_transformer", "1", "--additional_triplets_loss",
             "--first_additional_triplet", "1", "--second_additional_triplet", "1", "--momentum", "0.1",
             "--reg_loss"],
}
EVAL_FLAGS = {"cjme": ["--cjme"], "avgzslnet": [], "avca": ["--AVCA"]}
FILES = ("src", "main.py", "get_evaluation.py")


# ---------------------------------------------------------------- the original code and its data


def fetch_original(source: Path, dest: Path) -> dict:
    """Copy the original's ``src/``, ``main.py``, ``get_evaluation.py`` into ``dest``; returns its provenance."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if (source / "HEAD").exists() or (source / ".git").exists():
        git = ["git", "-C", str(source)]
        commit = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        tar = subprocess.run(git + ["archive", "--format=tar", commit, *FILES], capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
            archive.extractall(dest, filter="data")
    elif (source / "src" / "model_improvements.py").exists():
        commit = "unknown (copied from a folder)"
        for name in FILES:
            (shutil.copytree if (source / name).is_dir() else shutil.copy2)(source / name, dest / name)
    else:
        raise SystemExit(f"--original {source}: neither a git repository nor a folder with src/model_improvements.py "
                         "(git clone https://github.com/ExplainableML/AVCA-GZSL)")
    missing = [name for name in FILES if not (dest / name).exists()]
    if missing:
        raise SystemExit(f"--original {source}: missing {', '.join(missing)}")
    return {"source": str(source), "commit": commit}


def write_original_layout(root: Path, dest: Path) -> Path:
    """Our synthetic root in the original's layout (h5 features, w2v csv, concat(CLIP, CLAP) text)."""
    import pickle

    import h5py
    import numpy as np
    import pandas as pd

    done = dest / ".complete"
    if done.exists():
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(root / "class-split" / SPLIT, dest / "class-split" / SPLIT)
    shutil.copy2(root / "class-split" / "all_class.txt", dest / "class-split" / "all_class.txt")
    names = pd.read_csv(root / "class-split" / "ucf_clip_class_names.csv")
    names[["original", "manual"]].to_csv(dest / "class-split" / "ucf_w2v_class_names.csv", index=False)
    ours = root / "features" / "cls_features_non_averaged"
    theirs = dest / "features" / FEATURES
    for modality in ("audio", "video"):
        for split_dir in sorted((ours / modality).iterdir()):
            (theirs / modality / split_dir.name).mkdir(parents=True)
            for file in sorted(split_dir.glob("*.pkl")):
                with file.open("rb") as f:
                    entry = pickle.load(f)
                with h5py.File(theirs / modality / split_dir.name / f"{file.stem}.h5", "w") as h5:
                    h5["data"] = np.stack(entry["features"]).astype(np.float32)
                    h5["video_urls"] = np.array([n.encode() for n in entry["video_names"]])
    clip = np.load(ours / "text" / "word_embeddings_ucf_normed.npy", allow_pickle=True).item()
    clap = np.load(ours / "text" / "wavcaps_word_embeddings_ucf_normed.npy", allow_pickle=True).item()
    text = {name: np.concatenate([np.asarray(clip[name], np.float32), np.asarray(clap[name], np.float32)])
            for name in clip}
    (theirs / "text").mkdir(parents=True)
    np.save(theirs / "text" / "word_embeddings_ucf_normed.npy", text, allow_pickle=True)
    done.write_text("ok\n")
    return dest


def original_argv(method: str, seed: int, epochs: int, batches: int, root: Path, stage: int) -> list[str]:
    argv = ["--root_dir", str(root), "--feature_extraction_method", FEATURES, "--input_size_audio", "1024",
            "--input_size_video", "512", "--dataset_name", "UCF", "--zero_shot_split", SPLIT,
            "--epochs", str(epochs), "--n_batches", str(batches), "--seed", str(seed), "--device", "cpu",
            "--exp_name", f"{method}_seed{seed}_stage{stage}", *TRAIN_FLAGS[method]]
    return argv + (["--retrain_all", "--save_checkpoints"] if stage == 2 else [])


def run_original_child(args) -> None:
    """In a child process (cwd = the exec folder): stage 1, stage 2 and the evaluation of the original."""
    import runpy

    import torch

    torch.set_num_threads(1)
    import avca_original_patches as patches

    patches.apply(str(args.src_parent))
    root, src = Path(args.root), Path(args.src_parent)
    runs = Path.cwd() / "runs"
    times = {}
    for stage in (1, 2):
        shutil.rmtree(runs / f"{args.method}_seed{args.seed}_stage{stage}", ignore_errors=True)
        sys.argv = ["main.py", *original_argv(args.method, args.seed, args.epochs, args.batches, root, stage)]
        t0 = time.perf_counter()
        runpy.run_path(str(src / "main.py"), run_name="__main__")
        times[f"stage{stage}_s"] = time.perf_counter() - t0
    sys.argv = ["get_evaluation.py", "--load_path_stage_A", str(runs / f"{args.method}_seed{args.seed}_stage1"),
                "--load_path_stage_B", str(runs / f"{args.method}_seed{args.seed}_stage2"), "--dataset_name", "UCF",
                "--device", "cpu", *EVAL_FLAGS[args.method]]
    t0 = time.perf_counter()
    runpy.run_path(str(src / "get_evaluation.py"), run_name="__main__")
    times["evaluation_s"] = time.perf_counter() - t0
    test = patches.RECORD["test"]["both"]
    record = patches.RECORD
    result = {"test_hm": test["hm"], "test_seen": test["seen"], "test_unseen": test["unseen"],
              "test_zsl": test["zsl"], "beta": test["beta"], **times,
              "train_batch_s": _per_batch(record["train_step_s"], record["train_batches"]),
              "val_batch_s": _per_batch(record["val_step_s"], record["val_batches"]),
              # val_step minus its one HM evaluation: the validation-loss pass per batch
              "val_loss_batch_s": _per_batch([v - m for v, m in zip(record["val_step_s"], record["metric_s"])],
                                             record["val_batches"]) if record["metric_s"] else None,
              "val_metric_s": sum(record["metric_s"]) / len(record["metric_s"]) if record["metric_s"] else None,
              "epochs_timed": len(record["train_step_s"])}
    Path(args.child_out).write_text(json.dumps(result))


def _per_batch(seconds: list[float], batches: list[int]) -> float | None:
    return sum(seconds) / sum(batches) if batches else None


# ---------------------------------------------------------------- the comparison


def _path(out: Path, side: str, method: str, seed: int) -> Path:
    return out / f"{side}_{method}_seed{seed}.json"


def run_original(method: str, seed: int, args, work: Path, avca_root: Path) -> dict:
    exec_dir = work / "exec"
    exec_dir.mkdir(parents=True, exist_ok=True)
    child_out = exec_dir / f"result_{method}_seed{seed}.json"
    child_out.unlink(missing_ok=True)
    log = work / "logs" / f"original_{method}_seed{seed}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent),
                                                       os.environ.get("PYTHONPATH", "")]))}
    cmd = [sys.executable, str(Path(__file__).resolve()), "_child", "--method", method, "--seed", str(seed),
           "--epochs", str(args.epochs), "--batches", str(args.batches), "--src-parent", str(work / "original"),
           "--root", str(avca_root), "--child-out", str(child_out)]
    t0 = time.perf_counter()
    with log.open("w") as f:
        proc = subprocess.run(cmd, cwd=exec_dir, env=env, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise SystemExit(f"the original {method} seed {seed} failed (exit {proc.returncode}); see {log}")
    result = json.loads(child_out.read_text())
    result["seconds"] = time.perf_counter() - t0
    return result


SIDES = ("original", "ours", "ours-name")


def run_ours(method: str, seed: int, args, root: Path, side: str) -> dict:
    """``ours``: the class text looked up by position as the original does; ``ours-name``: by name (our default)."""
    from baselines_ours import run_ours_protocol

    return run_ours_protocol(method, seed, root, epochs=args.epochs, batches=args.batches,
                             text_lookup="name" if side == "ours-name" else "positional")


def summarise(out: Path, methods, seeds) -> list[dict]:
    rows = []
    for method in methods:
        by_side = {}
        for side in SIDES:
            runs = [json.loads(p.read_text()) for s in seeds if (p := _path(out, side, method, s)).exists()]
            for r in runs:
                rows.append({"method": method, "side": side, "seed": r["seed"], "HM": 100 * r["test_hm"],
                             "ZSL": 100 * r["test_zsl"], "S": 100 * r["test_seen"], "U": 100 * r["test_unseen"],
                             "seconds": r["seconds"]})
            by_side[side] = runs
        for side, runs in by_side.items():
            if runs:
                hm = [100 * r["test_hm"] for r in runs]
                zsl = [100 * r["test_zsl"] for r in runs]
                rows.append({"method": method, "side": side, "seed": f"mean of {len(runs)}",
                             "HM": statistics.mean(hm), "ZSL": statistics.mean(zsl),
                             "HM sd": statistics.stdev(hm) if len(hm) > 1 else None})
        if by_side.get("original") and by_side.get("ours"):
            d_hm = statistics.mean(100 * r["test_hm"] for r in by_side["ours"]) - \
                statistics.mean(100 * r["test_hm"] for r in by_side["original"])
            d_zsl = statistics.mean(100 * r["test_zsl"] for r in by_side["ours"]) - \
                statistics.mean(100 * r["test_zsl"] for r in by_side["original"])
            rows.append({"method": method, "side": "ours - original", "seed": "means", "HM": d_hm, "ZSL": d_zsl,
                         "within 2 HM": abs(d_hm) <= 2.0})
    return rows


FULL_EPOCHS, FULL_BATCHES = 50, 500  # run_scripts/UCF-GZSL/{cjme,avgzslnet,avca}.sh and our presets


def extrapolate(out: Path, methods, seeds) -> list[dict]:
    """Hours per seed of the full protocol (50 epochs x 500 batches, both stages) from measured per-batch times.

    Original: 2 stages x 50 x (500 train batches + 500 validation-loss batches + one HM evaluation)
    + its evaluation.  Ours: 2 stages x 50 x (500 train batches + one validation) at most (stage 2
    runs best epoch + 1 epochs).
    """
    rows = []
    for method in methods:
        for side in SIDES:
            runs = [json.loads(p.read_text()) for s in seeds if (p := _path(out, side, method, s)).exists()]
            runs = [r for r in runs if r.get("train_batch_s") and r.get("val_metric_s")]
            if not runs:
                continue
            mean = {k: statistics.mean(r.get(k) or 0.0 for r in runs)
                    for k in ("train_batch_s", "val_loss_batch_s", "val_metric_s", "evaluation_s")}
            epoch = FULL_BATCHES * (mean["train_batch_s"] + mean["val_loss_batch_s"]) + mean["val_metric_s"]
            hours = (2 * FULL_EPOCHS * epoch + mean["evaluation_s"]) / 3600
            rows.append({"method": method, "side": side, "runs": len(runs),
                         "train ms/batch": 1e3 * mean["train_batch_s"],
                         "val-loss ms/batch": 1e3 * mean["val_loss_batch_s"],
                         "validation s/epoch": mean["val_metric_s"], "full epoch s": epoch,
                         "full protocol h/seed": hours})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--original", type=Path, default=Path(os.environ.get("AVCA_GZSL_REPO", DEFAULT_ORIGINAL)))
    parser.add_argument("--work", type=Path, default=BENCH_DIR / "avca_original")
    parser.add_argument("--out", type=Path, default=None, help="results folder (default <work>/results)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--sides", default="original,ours")
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise SystemExit(f"--methods: unknown {', '.join(unknown)} (known: {', '.join(METHODS)})")
    seeds = [int(s) for s in args.seeds.split(",") if s]
    work = args.work / f"scale{args.scale:g}-seed{args.data_seed}"
    out = args.out or work / f"results-e{args.epochs}-b{args.batches}"
    root = synthetic_root(args.scale, args.data_seed)
    sides = args.sides.split(",")
    if set(sides) - set(SIDES):
        raise SystemExit(f"--sides: unknown {', '.join(sorted(set(sides) - set(SIDES)))} (known: {', '.join(SIDES)})")
    if "original" in sides:
        provenance = fetch_original(args.original, work / "original")
        avca_root = write_original_layout(root, work / "avca-root")
        print(f"original code: {provenance['source']} at {provenance['commit']}", flush=True)
    settings = {"epochs": args.epochs, "batches": args.batches, "batch_size": 256, "scale": args.scale,
                "data_seed": args.data_seed, "threads": 1}
    for method in methods:
        for seed in seeds:
            for side in sides:
                path = _path(out, side, method, seed)
                if path.exists():
                    continue
                print(f"{side} {method} seed {seed} ...", flush=True)
                if side == "original":
                    result = run_original(method, seed, args, work, avca_root)
                    result["original"] = provenance
                else:
                    result = run_ours(method, seed, args, root, side)
                result.update({"side": side, "method": method, "seed": seed, "settings": settings,
                               "machine": machine_notes()})
                write_json(path, result)
                print(f"  HM {100 * result['test_hm']:.2f} ZSL {100 * result['test_zsl']:.2f} "
                      f"({result['seconds']:.0f} s)", flush=True)
    rows = summarise(out, methods, seeds)
    print_table(rows, ["method", "side", "seed", "S", "U", "HM", "ZSL", "HM sd", "within 2 HM", "seconds"],
                title=f"test, % (reduced protocol: {args.epochs} epochs x {args.batches} batches of 256, both stages)")
    print_table(extrapolate(out, methods, seeds),
                ["method", "side", "runs", "train ms/batch", "val-loss ms/batch", "validation s/epoch",
                 "full epoch s", "full protocol h/seed"],
                title="full protocol (50 epochs x 500 batches), extrapolated from the measured per-batch times")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child = argparse.ArgumentParser()
        for name in ("--method", "--src-parent", "--root", "--child-out"):
            child.add_argument(name)
        for name in ("--seed", "--epochs", "--batches"):
            child.add_argument(name, type=int)
        run_original_child(child.parse_args(sys.argv[2:]))
    else:
        sys.exit(main())
