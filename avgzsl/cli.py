"""`avgzsl`: parse, then launch Dagster materializations in the project's instance."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from avgzsl.inputs import MODALITIES, TEXT_LOOKUPS, TEXT_SOURCES
from avgzsl.state import StateLayout

BENCHMARKS = ("ucf", "activitynet", "vggsound")


def _training_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--report-dir", required=True, type=Path, help="where metrics.json, predictions.parquet, report.html go")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--modality", choices=MODALITIES, default="both")
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
    demo = sub.add_parser("demo", help="generate a UCF-shaped synthetic feature set offline and reproduce on it")
    demo.add_argument("--scale", type=float, default=0.25, help="fraction of UCF's per-split video counts")
    _training_args(demo)
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


def reproduce(layout: StateLayout, dataset: str, features_root: Path, benchmark: str, split_folder: str,
              train: dict, report_dir: Path) -> dict:
    """Materialize import → stage 1 → stage 2 → evaluation for one dataset partition."""
    import dagster as dg

    from pipelines.definitions import defs

    instance = dg.DagsterInstance.get()
    if not instance.has_dynamic_partition("dataset", dataset):
        instance.add_dynamic_partitions("dataset", [dataset])
    run_config = {"ops": {
        "published_features": {"config": {"features_root": str(features_root.resolve()), "benchmark": benchmark,
                                          "split_folder": split_folder}},
        "clipclap_stage1": {"config": train},
        "clipclap_stage2": {"config": train},
        "gzsl_evaluation": {"config": {**train, "report_dir": str(report_dir.resolve())}},
    }}
    job = defs.resolve_job_def("reproduce_published")
    result = job.execute_in_process(run_config=run_config, instance=instance, partition_key=dataset,
                                    raise_on_error=False)
    if not result.success:
        errors = [_root_cause(e.event_specific_data.error) for e in result.all_events
                  if e.is_step_failure and e.event_specific_data and e.event_specific_data.error]
        raise SystemExit(f"avgzsl: the run failed (Dagster run {result.run_id}):\n" + "\n".join(errors))
    return json.loads((report_dir / "metrics.json").read_text())


def _root_cause(error) -> str:
    """The user-facing message at the bottom of Dagster's error chain."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    layout = StateLayout.resolve(args.home).activate()
    if args.command == "synthetic":
        from avgzsl.data.synthetic import make_synthetic_root

        print(make_synthetic_root(args.dest, shape=args.shape, seed=args.seed, videos_scale=args.scale))
        return 0
    if args.command == "demo":
        from avgzsl.data.synthetic import make_synthetic_root

        root = layout.data_dir / "synthetic" / f"ucf-shaped-{args.scale:g}"
        if not (root / "features").exists():
            make_synthetic_root(root, shape="ucf", seed=0, videos_scale=args.scale)
        dataset, features_root, benchmark, split_folder = "demo", root, "ucf", "cls_split"
    else:
        dataset, features_root, benchmark, split_folder = args.dataset, args.features_root, args.dataset, args.split_folder
    metrics = reproduce(layout, dataset, features_root, benchmark, split_folder, training_config(args), args.report_dir)
    print(f"test HM {metrics['test_hm']:.4f}  S {metrics['test_seen']:.4f}  U {metrics['test_unseen']:.4f}  "
          f"ZSL {metrics['test_zsl']:.4f}  (β {metrics['val_beta']:.3f}, text lookup: {metrics['text_lookup']})")
    print(f"report: {args.report_dir / 'report.html'}")
    if args.json:
        print(json.dumps(metrics, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
