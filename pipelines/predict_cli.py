"""`avgzsl predict INPUT... --classes NAME... --out OUT.parquet`: zero-shot classification of new videos.

The model is a run folder, a predictor folder, an MLflow model URI, or by default the
registered model ``avgzsl-<dataset>`` at its ``promoted`` alias; the work itself is
:func:`avgzsl.predict.predict` (docs/predict.md).  `avgzsl promote --dataset D RUN` moves that alias: choosing
the model is the user's explicit act, never a selection on test data.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from avgzsl.errors import OptionError
from avgzsl.layout import StateLayout
from avgzsl.names import STREAMS, WEIGHTS
from avgzsl.progress import reporting
from pipelines import summaries
from pipelines.terminal import Terminal

SHOWN_INPUTS = 20


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("predict", help="zero-shot classification of new videos with a trained model, "
                                              "for any class names (docs/predict.md)")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="a video file, a folder of videos, an http(s) URL or youtube:<id>")
    names = p.add_mutually_exclusive_group(required=True)
    names.add_argument("--classes", nargs="+", metavar="NAME", help="the class names to rank")
    names.add_argument("--classes-file", type=Path, help="class names, one per line ('#' starts a comment)")
    p.add_argument("--model", default=None,
                   help="a run folder (<state>/runs/<dataset>/<variant>), an MLflow model URI "
                        "(models:/avgzsl-ucf@promoted, runs:/<id>/clipclap_stage2) or a downloaded MLflow "
                        "model; default: the model `avgzsl promote` chose for --dataset")
    p.add_argument("--dataset", default=None, help="whose registered model to use when --model is not given")
    p.add_argument("--top-k", type=int, default=5, help="classes per input (default 5)")
    p.add_argument("--weights", choices=WEIGHTS, default="pretrained",
                   help="encoder weights; must be those the model was trained on (random: tests, the demo)")
    p.add_argument("--encoders", type=Path, default=None,
                   help="YAML with visual_encoder / audio_encoder settings (as in run config) to use instead of "
                        "the encoders recorded with the model's features (needed for published features)")
    p.add_argument("--out", required=True, type=Path, help="the predictions table (Parquet)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    bounds = p.add_argument_group("bounds on every download (docs/predict.md)")
    bounds.add_argument("--stall-speed", type=float, default=1024.0, metavar="BYTES_PER_S",
                        help="abandon a download slower than this for --stall-time (default 1024)")
    bounds.add_argument("--stall-time", type=float, default=30.0, metavar="S", help="default 30")
    bounds.add_argument("--max-download-mb", type=float, default=1024.0, metavar="MB",
                        help="refuse a larger input (default 1024)")
    bounds.add_argument("--deadline", type=float, default=900.0, metavar="S",
                        help="for all inputs' downloads together (default 900); an input past it gets an error row")
    p.add_argument("--trust-checkpoint", action="store_true",
                   help="allow the encoders' checkpoints to be unpickled (a pickle can run code: only for files from "
                        "a source you trust); never taken from a model folder or config file")
    return p


def _overrides(path: Path | None, weights: str, device: str) -> dict:
    """Encoder specs by stream from a YAML of encoder resource settings (run config rules: random weights bring
    the stand-in CLAP tokenizer)."""
    if path is None:
        return {}
    import pydantic
    import yaml

    from pipelines.run_config import encoder_resources
    from resources import AudioEncoderResource, VisualEncoderResource

    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise OptionError(f"--encoders {path}: cannot read it ({error})") from None
    resources = {"visual_encoder": VisualEncoderResource, "audio_encoder": AudioEncoderResource}
    if not isinstance(raw, dict) or not raw or set(raw) - set(resources) \
            or not all(isinstance(v, dict) for v in raw.values()):
        raise OptionError(f"--encoders {path}: expected a mapping with visual_encoder and/or audio_encoder settings")
    configs = encoder_resources(weights, {k: {"device": device, **v} for k, v in raw.items()})
    out = {}
    for stream, (key, resource) in zip(STREAMS, resources.items()):
        if key in raw:
            try:
                out[stream] = resource(**configs[key]["config"]).spec()
            except pydantic.ValidationError as error:
                why = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
                raise OptionError(f"--encoders {path}: {key}: {why}") from None
    return out


def add_promote_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("promote", help="make a run's model the one `avgzsl predict --dataset` uses "
                                              "(choose it on validation; docs/predict.md)")
    p.add_argument("run", metavar="RUN", help="a variant key, <dataset>|<variant> (`avgzsl key`) or an MLflow run id")
    p.add_argument("--dataset", required=True, help="the run's dataset")
    return p


def promote(layout: StateLayout, args: argparse.Namespace) -> summaries.Summary:
    from resources import MlflowResource

    run = args.run.split("|", 1)[1] if args.run.startswith(f"{args.dataset}|") else args.run
    files = layout.run(args.dataset, run)
    if files.stage_summary(1).is_file():
        run_id = files.read_summary(1)["mlflow_run_id"]
    elif re.fullmatch(r"[0-9a-f]{32}", run):
        run_id = run
    else:
        raise OptionError(f"promote {args.run}: no run {run!r} of dataset {args.dataset} in {layout.home} and not "
                          "an MLflow run id")
    done = MlflowResource(home=str(layout.home)).promote(args.dataset, run_id)
    return summaries.Summary([f"promoted {done['registered_model']} v{done['version']} (MLflow run {run_id}): "
                              f"`avgzsl predict --dataset {args.dataset}` and {done['uri']} now use it"], done)


def run(layout: StateLayout, args: argparse.Namespace, term: Terminal) -> summaries.Summary:
    from avgzsl.clipclap.predictor import Predictor, check_class_names
    from avgzsl.media.download import Bounds
    from avgzsl.media.shards import MediaSettings
    from avgzsl.predict import predict, read_class_file, write_predictions
    from resources import MlflowResource

    if args.model is None and not args.dataset:
        raise OptionError("give --model (a run folder or an MLflow model URI) or --dataset (its registered model)")
    if args.top_k < 1:
        raise OptionError(f"--top-k {args.top_k}: expected at least 1")
    if args.out.is_dir():
        raise OptionError(f"--out {args.out}: a folder is there; give a file name (OUT.parquet)")
    for option in ("stall_speed", "stall_time", "max_download_mb", "deadline"):
        if not getattr(args, option) > 0:
            raise OptionError(f"--{option.replace('_', '-')} {getattr(args, option)}: expected a number > 0")
    names = args.classes if args.classes is not None else read_class_file(args.classes_file)
    check_class_names(names)
    overrides = _overrides(args.encoders, args.weights, args.device)
    with term.captured(), reporting(term.event):
        term.line("▸ load the model" + (f": {args.model}" if args.model else f" of dataset {args.dataset}"))
        folder = MlflowResource.of(layout).predictor_folder(args.model, args.dataset)
        predictor = Predictor.load(folder)
        output = predict(predictor, list(args.inputs), names, layout.predict_dir, top_k=args.top_k,
                         weights=args.weights, overrides=overrides, device=args.device,
                         cache_dir=layout.models_dir, trust_checkpoint=args.trust_checkpoint,
                         settings=MediaSettings(bounds=Bounds(args.stall_speed, args.stall_time, args.max_download_mb,
                                                              args.deadline)))
        write_predictions(output, args.out)
    lines = _table(output.table)
    lines.append(f"{output.summary['inputs']} input(s): {output.summary['predicted']} predicted, "
                 f"{output.summary['failed']} failed · model {output.summary['model']} · "
                 f"{output.summary['classes']} classes ({output.summary['seen_classes']} seen)")
    lines.append(f"predictions: {args.out}")
    if args.weights == "random":
        lines.append("(random encoder weights: these predictions only show that the pipeline runs)")
    # Some inputs failing is a result (their rows say why); none predicted is a failed command.
    code = 0 if output.summary["predicted"] else 1
    return summaries.Summary(lines, {**output.summary, "out": str(args.out)}, code=code)


def _table(table) -> list[str]:
    """A few lines: each input's ranked classes, or its error."""
    from avgzsl.predict import by_video, ranked_text

    videos = by_video(table)
    width = min(40, max((len(k) for k in videos), default=8))
    shown = list(videos.items())[:SHOWN_INPUTS]
    lines = [f"{video_id[:width]:<{width}}  {ranked_text(rows)}" for video_id, rows in shown]
    if len(videos) > SHOWN_INPUTS:
        lines.append(f"… and {len(videos) - SHOWN_INPUTS} more inputs (see the table)")
    if any(table.column("seen").to_pylist()):
        lines.append("(* a training class: its distance includes the calibration β)")
    return lines
