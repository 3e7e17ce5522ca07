"""`avgzsl`: parse, then launch Dagster materializations in the project's instance (an entry point)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from avgzsl.layout import StateLayout
from avgzsl.names import BENCHMARKS, MODALITIES, MODALITY_ALIASES, TEXT_LOOKUPS, TEXT_SOURCES, WEIGHTS


def _training_args(p: argparse.ArgumentParser, report_required: bool = True) -> None:
    p.add_argument("--report-dir", required=report_required, type=Path,
                   help="where metrics.json, predictions.parquet, report.html go")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--modality", choices=MODALITIES + tuple(MODALITY_ALIASES), default="both",
                   help="the model's input: both, audio or visual ('video' is an alias of visual)")
    p.add_argument("--text", choices=TEXT_SOURCES, default="both")
    p.add_argument("--text-lookup", choices=TEXT_LOOKUPS, default="name",
                   help="name (default) or positional: the authors' defect, for exact comparison")
    p.add_argument("--epochs", type=int, default=None, help="stage-1 epochs (default: the paper's per dataset)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the paper's per dataset)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--batches-per-epoch", type=int, default=300, help="300 in the paper; fewer for a smoke test")
    p.add_argument("--no-logging-pass", action="store_true",
                   help="skip the authors' post-step BatchNorm refresh (see benchmarks/README.md)")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON line at the end")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="avgzsl", description=__doc__)
    parser.add_argument("--home", type=Path, default=None, help="state folder (default: $AVGZSL_HOME or ./.avgzsl)")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="the paper's protocol on the authors' published features")
    rep.add_argument("--dataset", required=True, choices=BENCHMARKS)
    rep.add_argument("--features-root", required=True, type=Path, help="dataset root in the authors' layout")
    rep.add_argument("--split-folder", default="cls_split")
    _training_args(rep)
    demo = sub.add_parser("demo", help="offline: generate a small video dataset and run the whole DAG on it with "
                                       "randomly initialised encoders (or, with --published, reproduce on a "
                                       "UCF-shaped synthetic feature set)")
    demo.add_argument("--published", action="store_true",
                      help="the published-features entry on a synthetic UCF-shaped set instead of videos")
    demo.add_argument("--scale", type=float, default=0.25, help="--published: fraction of UCF's video counts")
    _training_args(demo)
    run = sub.add_parser("run", help="the video DAG for a benchmark or a custom dataset folder")
    run.add_argument("dataset", help="ucf | activitynet | vggsound | a custom dataset folder (with dataset.yaml)")
    run.add_argument("--until", choices=("download", "split", "features", "embeddings", "train", "evaluate"),
                     default="evaluate")
    run.add_argument("--weights", choices=WEIGHTS, default=None,
                     help="encoder weights (default: pretrained); random for tests and the offline demo")
    run.add_argument("--shards", default=None, help="shard numbers 'a..b' (inclusive) or 'a'; default: all")
    run.add_argument("--splits-from", default=None, help="a local class-split folder (benchmarks: instead of "
                                                          "downloading the split files)")
    _training_args(run, report_required=False)
    mk = sub.add_parser("make-demo", help="generate the demo video dataset (ffmpeg test sources and tones)")
    mk.add_argument("dest", type=Path)
    syn = sub.add_parser("synthetic", help="write a synthetic feature set in the authors' layout")
    syn.add_argument("dest", type=Path)
    syn.add_argument("--shape", default="ucf", choices=("ucf", "tiny"))
    syn.add_argument("--seed", type=int, default=0)
    syn.add_argument("--scale", type=float, default=1.0)
    return parser


def training_config(args: argparse.Namespace) -> dict:
    cfg = {"modality": args.modality, "text": args.text, "text_lookup": args.text_lookup, "seed": args.seed,
           "device": args.device, "logging_pass": not args.no_logging_pass,
           "batches_per_epoch": args.batches_per_epoch}
    if args.epochs is not None:
        cfg["epochs"] = args.epochs
    if args.lr is not None:
        cfg["lr"] = args.lr
    return cfg


def _video_demo(layout: StateLayout, args: argparse.Namespace) -> int:
    """The whole DAG, offline, on generated videos; random encoder weights, said in every report."""
    from avgzsl.data.demo import make_demo_dataset
    from pipelines.launch import run_pipeline

    source = make_demo_dataset(layout.data_dir / "demo-source")
    summary = run_pipeline(layout, str(source), "evaluate", weights="random", report_dir=args.report_dir,
                           train=training_config(args))
    metrics = json.loads((args.report_dir / "metrics.json").read_text())
    print(f"videos: {summary['download']['ok'] + summary['download']['skipped']} downloaded, "
          f"{summary['split']['ok'] + summary['split']['skipped']} split, {summary['split']['failed']} failed")
    print(f"encoders: {metrics.get('visual_encoder')}; {metrics.get('audio_encoder')}")
    print(f"test HM {metrics['test_hm']:.4f} (random encoder weights: these numbers only show the pipeline runs)")
    print(f"report: {args.report_dir / 'report.html'}")
    if args.json:
        print(json.dumps(summary, sort_keys=True, default=str))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    layout = StateLayout.resolve(args.home).activate()
    if args.command == "synthetic":
        from avgzsl.data.synthetic import make_synthetic_root

        print(make_synthetic_root(args.dest, shape=args.shape, seed=args.seed, videos_scale=args.scale))
        return 0
    if args.command == "make-demo":
        from avgzsl.data.demo import make_demo_dataset

        print(make_demo_dataset(args.dest))
        return 0
    if args.command == "run":
        from pipelines.launch import run_pipeline

        summary = run_pipeline(layout, args.dataset, args.until, args.shards, args.splits_from, args.weights,
                               args.report_dir, training_config(args))
        for stage, counts in summary.items():
            print(f"{stage}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if not isinstance(v, list)))
        if args.json:
            print(json.dumps(summary, sort_keys=True))
        return 0
    if args.command == "demo" and not args.published:
        return _video_demo(layout, args)
    if args.command == "demo":
        from avgzsl.data.synthetic import make_synthetic_root

        root = layout.data_dir / "synthetic" / f"ucf-shaped-{args.scale:g}"
        if not (root / "features").exists():
            make_synthetic_root(root, shape="ucf", seed=0, videos_scale=args.scale)
        dataset, features_root, benchmark, split_folder = "demo", root, "ucf", "cls_split"
    else:
        dataset, features_root, benchmark, split_folder = args.dataset, args.features_root, args.dataset, args.split_folder
    from pipelines.launch import reproduce

    metrics = reproduce(dataset, features_root, benchmark, split_folder, training_config(args), args.report_dir)
    print(f"test HM {metrics['test_hm']:.4f}  S {metrics['test_seen']:.4f}  U {metrics['test_unseen']:.4f}  "
          f"ZSL {metrics['test_zsl']:.4f}  (β {metrics['val_beta']:.3f}, text lookup: {metrics['text_lookup']})")
    print(f"report: {args.report_dir / 'report.html'}")
    if args.json:
        print(json.dumps(metrics, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
