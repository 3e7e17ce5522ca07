"""`avgzsl`: parse and validate, then launch Dagster materializations in the project's instance (an entry point).

Every command validates its options before any work, shows progress while it runs
(``-q`` hides it, ``-v`` adds Dagster's event stream) and ends with a short summary;
the full log is in ``<state>/logs/avgzsl.log``.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from avgzsl.errors import OptionError, RunFailed, UserError, state_failure
from avgzsl.experiments.spec import RunSpec
from avgzsl.experiments.sweep import Sweep
from avgzsl.methods.registry import known as known_methods
from avgzsl.layout import StateLayout
from avgzsl.names import BENCHMARKS, MODALITIES, MODALITY_ALIASES, TEXT_LOOKUPS, TEXT_SOURCES, WEIGHTS
from avgzsl.progress import reporting
from avgzsl.runtime import Execution
from pipelines import predict_cli, summaries
from pipelines.terminal import NORMAL, QUIET, VERBOSE, Terminal

STAGE_CHOICES = ("download", "split", "features", "embeddings", "train", "evaluate")
# Library chatter a user cannot act on, off before anything is imported.
QUIET_ENV = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
             "TRANSFORMERS_VERBOSITY": "error", "TQDM_DISABLE": "1", "MLFLOW_DISABLE_TELEMETRY": "true",
             "DAGSTER_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


def _output_args(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("-v", "--verbose", action="store_true", help="also show Dagster's event stream and warnings")
    group.add_argument("-q", "--quiet", action="store_true", help="only the summary")
    p.add_argument("--json", action="store_true", help="print a summary as one JSON line at the end")


def _training_args(p: argparse.ArgumentParser, sweep: bool = False, report_required: bool = True) -> None:
    p.add_argument("--report-dir", required=report_required, type=Path,
                   help="where metrics.json, predictions.parquet, report.html (a sweep: results.*) go")
    if sweep:
        p.add_argument("--seeds", required=True, help="a range 'a..b' (inclusive), a list 'a,b,c' or one seed")
        p.add_argument("--modality", default="both", help=f"comma list of {', '.join(MODALITIES)} (video = visual)")
        p.add_argument("--text", default="both", help=f"comma list of {', '.join(TEXT_SOURCES)}")
        p.add_argument("--text-lookup", default="name", help=f"comma list of {', '.join(TEXT_LOOKUPS)}")
        p.add_argument("--parallel", type=int, default=0, help="runs at once (default: the free cores)")
        p.add_argument("--method", default="clipclap",
                       help=f"comma list of methods: {', '.join(known_methods())}, or module:Class of a plug-in")
    else:
        p.add_argument("--method", default="clipclap",
                       help=f"{', '.join(known_methods())}, or module:Class of a plug-in (docs/methods.md)")
        p.add_argument("--seed", type=int, default=42)
        p.add_argument("--modality", choices=MODALITIES + tuple(MODALITY_ALIASES), default="both",
                       help="the model's input: both, audio or visual ('video' is an alias of visual)")
        p.add_argument("--text", choices=TEXT_SOURCES, default="both")
        p.add_argument("--text-lookup", choices=TEXT_LOOKUPS, default="name",
                       help="name (default) or positional: the authors' defect, for exact comparison")
    p.add_argument("--epochs", type=int, default=0, help="stage-1 epochs (default: the paper's per dataset)")
    p.add_argument("--lr", type=float, default=0.0, help="learning rate (default: the paper's per dataset)")
    p.add_argument("--losses", default="", help="ClipClap's loss set (Table 4): reg, reg+ce or reg+ce+rec (default)")
    p.add_argument("--batch-size", type=int, default=0, help="batch size (default: the method's, per dataset)")
    p.add_argument("--batches-per-epoch", type=int, default=0,
                   help="batches per epoch (default: the method's per dataset, 300 for ClipClap); fewer for a smoke test")
    p.add_argument("--no-logging-pass", action="store_true",
                   help="skip the authors' post-step BatchNorm refresh (see benchmarks/README.md)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads per run (default: $AVGZSL_TORCH_THREADS, else the free cores / runs at once)")
    _output_args(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="avgzsl", description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None, help="state folder (default: $AVGZSL_HOME or ./.avgzsl)")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="the paper's protocol on the authors' published features")
    rep.add_argument("--dataset", required=True, choices=BENCHMARKS)
    rep.add_argument("--features-root", required=True, type=Path, help="dataset root in the authors' layout")
    rep.add_argument("--split-folder", default="cls_split")
    _training_args(rep)
    swp = sub.add_parser("sweep", help="seeds × ablations as one backfill; the paper's tables with mean ± std")
    swp.add_argument("--dataset", required=True, help="a benchmark, or a custom dataset's name (with --extracted)")
    source = swp.add_mutually_exclusive_group(required=True)
    source.add_argument("--features-root", type=Path, help="the authors' published features (their layout)")
    source.add_argument("--extracted", action="store_true",
                        help="the features `avgzsl run DATASET --until embeddings` extracted")
    swp.add_argument("--split-folder", default="cls_split")
    _training_args(swp, sweep=True)
    demo = sub.add_parser("demo", help="offline: generate a small video dataset and run the whole DAG on it with "
                                       "randomly initialised encoders (or, with --published, reproduce on a "
                                       "UCF-shaped synthetic feature set)")
    demo.add_argument("--published", action="store_true",
                      help="the published-features entry on a synthetic UCF-shaped set instead of videos")
    demo.add_argument("--scale", type=float, default=0.25, help="--published: fraction of UCF's video counts")
    _training_args(demo)
    run = sub.add_parser("run", help="the video DAG for a benchmark or a custom dataset folder")
    run.add_argument("dataset", help="ucf | activitynet | vggsound | a custom dataset folder (with dataset.yaml)")
    run.add_argument("--until", choices=STAGE_CHOICES, default="evaluate")
    run.add_argument("--weights", choices=WEIGHTS, default=None,
                     help="encoder weights (default: pretrained); random for tests and the offline demo")
    run.add_argument("--shards", default=None, help="shard numbers 'a..b' (inclusive) or 'a'; default: all")
    run.add_argument("--splits-from", default=None, help="a local class-split folder (benchmarks: instead of "
                                                          "downloading the split files)")
    _training_args(run, report_required=False)
    ui = sub.add_parser("ui", help="the Dagster UI and the MLflow UI on 127.0.0.1 over the state folder")
    ui.add_argument("--dagster-port", type=int, default=3000)
    ui.add_argument("--mlflow-port", type=int, default=5000)
    mk = sub.add_parser("make-demo", help="generate the demo video dataset (ffmpeg test sources and tones)")
    mk.add_argument("dest", type=Path)
    syn = sub.add_parser("synthetic", help="write a synthetic feature set in the authors' layout")
    syn.add_argument("dest", type=Path)
    syn.add_argument("--shape", default="ucf", choices=("ucf", "tiny"))
    syn.add_argument("--seed", type=int, default=0)
    syn.add_argument("--scale", type=float, default=1.0)
    _output_args(predict_cli.add_parser(sub))
    return parser


def _settings(args: argparse.Namespace) -> dict:
    """The run settings every command shares (RunSpec fields besides the ablation grid)."""
    return {"epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size,
            "batches_per_epoch": args.batches_per_epoch, "logging_pass": not args.no_logging_pass,
            "losses": args.losses}


def _spec(args: argparse.Namespace, dataset: str, features: str) -> RunSpec:
    return RunSpec(dataset=dataset, features=features, modality=args.modality, text=args.text,
                   text_lookup=args.text_lookup, seed=args.seed, method=args.method, **_settings(args))


def _execution(args: argparse.Namespace) -> Execution:
    for name in ("threads", "parallel"):
        if getattr(args, name, 0) < 0:
            raise OptionError(f"--{name} {getattr(args, name)}: expected a whole number ≥ 1 (0: automatic)")
    return Execution(parallel=getattr(args, "parallel", 0), threads=args.threads, device=args.device)


def _report_dir(path: Path | None) -> Path | None:
    if path is not None and path.exists() and not path.is_dir():
        raise OptionError(f"--report-dir {path}: a file is there; give a folder")
    return path


def _reproduce(layout: StateLayout, args: argparse.Namespace, term: Terminal):
    from avgzsl.data.authors import check_authors_root

    if args.command == "demo":
        from avgzsl.data.synthetic import make_synthetic_root

        dataset, benchmark, split_folder = "demo", "ucf", "cls_split"
        root = layout.data_dir / "synthetic" / f"ucf-shaped-{args.scale:g}"
        spec, execution, out_dir = _spec(args, dataset, "published"), _execution(args), _report_dir(args.report_dir)
        if not (root / "features").exists():
            make_synthetic_root(root, shape="ucf", seed=0, videos_scale=args.scale)
    else:
        dataset, benchmark, split_folder, root = args.dataset, args.dataset, args.split_folder, args.features_root
        spec, execution, out_dir = _spec(args, dataset, "published"), _execution(args), _report_dir(args.report_dir)
        check_authors_root(root, benchmark, split_folder)
    with term.captured(), reporting(term.event):
        from pipelines.commands import reproduce

        out = reproduce(layout, spec, root, benchmark, split_folder, out_dir, execution)
    return summaries.single_run(out, spec)


def _sweep(layout: StateLayout, args: argparse.Namespace, term: Terminal):
    from avgzsl.data.authors import check_authors_root

    grid = Sweep.parse(args.dataset, args.seeds, args.modality, args.text, args.text_lookup, method=args.method,
                       features="extracted" if args.extracted else "published", **_settings(args))
    specs, execution, out_dir = grid.specs(), _execution(args), _report_dir(args.report_dir)
    if args.features_root is not None:
        check_authors_root(args.features_root, args.dataset, args.split_folder)
    with term.captured(), reporting(term.event):
        from pipelines.commands import sweep

        out = sweep(layout, specs, out_dir, execution, args.features_root, args.split_folder)
    return summaries.sweep(out, specs)


def _run(layout: StateLayout, args: argparse.Namespace, term: Terminal, dataset: str, weights: str | None):
    from avgzsl.data.datasets import load_dataset_spec, parse_shard_range

    parse_shard_range(getattr(args, "shards", None))
    train = {**_settings(args), "modality": args.modality, "text": args.text, "text_lookup": args.text_lookup,
             "seed": args.seed, "method": args.method}
    name = load_dataset_spec(dataset).name
    spec = RunSpec(dataset=name, features="extracted", **train) if args.until in ("train", "evaluate") else None
    execution, out_dir = _execution(args), _report_dir(args.report_dir)
    with term.captured(), reporting(term.event):
        from pipelines.commands import run_pipeline

        summary = run_pipeline(layout, dataset, args.until, getattr(args, "shards", None),
                               getattr(args, "splits_from", None), weights, out_dir, train, execution=execution)
    return summaries.pipeline(summary, spec, random_weights=weights == "random")


def _dispatch(layout: StateLayout, args: argparse.Namespace, term: Terminal):
    if args.command == "synthetic":
        from avgzsl.data.synthetic import make_synthetic_root

        return summaries.Summary([str(make_synthetic_root(args.dest, shape=args.shape, seed=args.seed,
                                                          videos_scale=args.scale))])
    if args.command == "make-demo":
        from avgzsl.data.demo import make_demo_dataset

        return summaries.Summary([str(make_demo_dataset(args.dest))])
    if args.command == "ui":
        from pipelines.ui import serve

        return summaries.Summary([], code=serve(layout, args.dagster_port, args.mlflow_port, layout.home / "logs",
                                               say=term.print))
    if args.command == "run":
        return _run(layout, args, term, args.dataset, args.weights)
    if args.command == "predict":
        return predict_cli.run(layout, args, term)
    if args.command == "sweep":
        return _sweep(layout, args, term)
    if args.command == "demo" and not args.published:
        from avgzsl.data.demo import make_demo_dataset

        term.line("▸ generate the demo videos (ffmpeg)")
        source = make_demo_dataset(layout.data_dir / "demo-source")
        args.until, args.shards, args.splits_from = "evaluate", None, None
        return _run(layout, args, term, str(source), "random")
    return _reproduce(layout, args, term)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    verbosity = VERBOSE if getattr(args, "verbose", False) else QUIET if getattr(args, "quiet", False) else NORMAL
    layout = StateLayout.resolve(args.home)
    term = Terminal(layout.home / "logs" / "avgzsl.log", verbosity, plain=getattr(args, "json", False))
    try:
        layout.activate()
        summary = _dispatch(layout, args, term)
    except KeyboardInterrupt:
        term.error("interrupted")
        return 130
    except RunFailed as error:
        return _fail(term, f"{error} (Dagster run {error.run_id})", verbosity, logged=True)
    except UserError as error:
        return _fail(term, str(error), verbosity)
    except OSError as error:
        failure = state_failure(error, layout.home)  # e.g. the disk is full
        if failure is not None:
            return _fail(term, str(failure), verbosity)
        where = f": {error.filename}" if error.filename else ""
        return _fail(term, f"{error.strerror or error}{where}", verbosity)
    except Exception as error:  # a bug: say so, with where to look (a full disk or read-only store is no bug)
        failure = state_failure(error, layout.home)
        if failure is not None:
            return _fail(term, str(failure), verbosity)
        return _fail(term, f"{type(error).__name__}: {error} (an internal error; please report it)", verbosity,
                     logged=True)
    summary.show(term, getattr(args, "json", False))
    return summary.code


def _fail(term: Terminal, message: str, verbosity: int, logged: bool = False) -> int:
    """One line with the message (the traceback with -v); bugs and failed runs point to the log."""
    details = traceback.format_exc()
    if verbosity >= VERBOSE:
        term.err.write(details)
        term.error(message)
        return 1
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    try:
        with open(term.log_path, "a") as log:
            log.write(details)
        if logged:
            first += f" — details in {term.log_path}"
    except OSError:
        pass
    term.error(first)
    return 1


if __name__ == "__main__":
    sys.exit(main())
