"""What the CLI's commands do, as Dagster materializations: import or extract features, then train a sweep.

Every command builds its run specifications first (so a bad option fails before any
work), materializes the feature stages it needs, trains the variants as one backfill
(:mod:`pipelines.sweep`), tabulates the results, and copies the reports to ``OUT``.
"""
from __future__ import annotations

import json
from pathlib import Path

from assets import RUN_STAGES, SHARD_STAGES, asset_names
from avgzsl.data.datasets import load_dataset_spec, parse_shard_range
from avgzsl.experiments.results import runs_table, write_results
from avgzsl.experiments.runs import export_report, finished_runs
from avgzsl.experiments.spec import SPEC_FIELDS, RunSpec
from avgzsl.layout import StateLayout
from avgzsl.media.shards import stage_summary
from avgzsl.names import STREAMS
from avgzsl.progress import emit
from avgzsl.runtime import Execution
from pipelines.jobs import acquire_media, extract_tables, import_published, summarize_results, video_manifest_job
from pipelines.launch import asset_metadata, ensure_partitions, execute, select_shards
from pipelines.run_config import encoder_resources
from pipelines.sweep import run_sweep

PIPELINE_STAGES = ("download", "split", "features", "embeddings", "train", "evaluate")


def import_published_features(layout: StateLayout, dataset: str, features_root: Path, benchmark: str, split_folder: str) -> dict:
    emit("stage", name="import the published features", detail=str(features_root))
    ensure_partitions(layout, "dataset", [dataset])
    config = {"features_root": str(Path(features_root).resolve()), "benchmark": benchmark,
              "split_folder": split_folder}
    result = execute(layout, import_published, {"ops": {"published_features": {"config": config}}}, partition_key=dataset)
    return asset_metadata(result, "published_features")


def train_and_report(layout: StateLayout, specs: list[RunSpec], out_dir: Path | None, execution: Execution,
                     title: str, evaluate: bool = True) -> dict:
    """Train (and evaluate) every spec not yet current; tables and reports into ``out_dir``."""
    parallel, threads = execution.resolve(len(specs))
    assets = asset_names(*(RUN_STAGES if evaluate else RUN_STAGES[:1]))
    outcome = run_sweep(layout, specs, {"threads": threads, "device": execution.device}, parallel, title, assets)
    summary = {"trained": len(outcome.trained), "skipped": len(outcome.skipped), "failed": len(outcome.failed),
               "failures": outcome.failed, "variants": [s.variant for s in specs], "parallel": parallel,
               "threads": threads, "backfill_id": outcome.backfill_id, "dagster_run_ids": outcome.run_ids,
               "mlflow_parent_run_id": outcome.mlflow_parent_run_id}
    if not evaluate:
        return summary
    dataset = specs[0].dataset
    done = [s for s in specs if s.variant not in outcome.failed]
    if outcome.trained:
        emit("stage", name="tabulate the results", detail=dataset)
        execute(layout, summarize_results, partition_key=dataset)
    if len(specs) == 1 and done:
        files = layout.run(dataset, specs[0].variant)
        summary["metrics"] = json.loads((files.report_dir / "metrics.json").read_text())
        summary["report"] = str(files.report_dir / "report.html")
        summary["mlflow_run_id"] = files.read_summary(1).get("mlflow_run_id")
    if out_dir is not None and done:
        out_dir = Path(out_dir)
        if len(specs) == 1:
            export_report(layout.run(dataset, specs[0].variant), out_dir)
            summary["report"] = str(out_dir / "report.html")
        else:
            for spec in done:
                export_report(layout.run(dataset, spec.variant), out_dir / spec.variant)
        paths = write_results(out_dir, runs_table(finished_runs(layout, dataset, [s.variant for s in done])), dataset)
        summary.update({name: str(path) for name, path in paths.items()})
    return summary


def reproduce(layout: StateLayout, spec: RunSpec, features_root: Path, benchmark: str, split_folder: str,
              out_dir: Path, execution: Execution = Execution()) -> dict:
    """The published-features entry: import, then one run, its report in ``out_dir``."""
    import_published_features(layout, spec.dataset, features_root, benchmark, split_folder)
    return train_and_report(layout, [spec], out_dir, execution, title=f"reproduce {spec.dataset} {spec.variant}")


def sweep(layout: StateLayout, specs: list[RunSpec], out_dir: Path, execution: Execution,
          features_root: Path | None = None, split_folder: str = "cls_split") -> dict:
    """A sweep over published features (``features_root``) or the dataset's extracted ones."""
    dataset = specs[0].dataset
    if features_root is not None:
        import_published_features(layout, dataset, features_root, dataset, split_folder)
    return train_and_report(layout, specs, out_dir, execution, title=f"sweep {dataset} ({len(specs)} runs)")


def run_pipeline(layout: StateLayout, dataset: str, until: str, shards: str | None = None,
                 splits_from: str | None = None, weights: str | None = None, report_dir: Path | None = None,
                 train: dict | None = None, encoders: dict | None = None, execution: Execution = Execution()) -> dict:
    """Manifest, then every stage up to ``until``; a summary per stage (what ``--json`` prints)."""
    parse_shard_range(shards)  # a bad --shards fails before the manifest is (re)written
    spec = load_dataset_spec(dataset)
    given = {k: v for k, v in (train or {}).items() if k in SPEC_FIELDS and k != "dataset"}
    run_spec = RunSpec(dataset=spec.name, **{**given, "features": "extracted"}) if until in RUN_STAGES else None
    ensure_partitions(layout, "dataset", [spec.name])
    manifest_config = {"source": str(dataset) if spec.benchmark else spec.root}
    if splits_from:
        manifest_config["splits_from"] = str(Path(splits_from).resolve())
    emit("stage", name="manifest", detail=spec.root or spec.name)
    execute(layout, video_manifest_job, {"ops": {"video_manifest": {"config": manifest_config}}}, partition_key=spec.name)
    paths = layout.dataset(spec.name)
    keys = select_shards(paths.shard_keys(spec.name), shards)
    stages = PIPELINE_STAGES[: PIPELINE_STAGES.index(until) + 1]
    resources = encoder_resources(weights, encoders)
    media = execute(layout, acquire_media, {"resources": resources} if "features" in stages else None,
                    partition_range=(keys[0], keys[-1]), assets=asset_names(*(s for s in stages if s in SHARD_STAGES)))
    summary = {s: stage_summary(paths, s, keys) for s in ("download", "split") if s in stages}
    if "features" in stages:
        for stream in STREAMS:
            meta = asset_metadata(media, f"{stream}_features")
            summary[f"{stream}_features"] = {
                "ok": meta["ok"], "failed": meta["failed"], "skipped": meta["skipped"],
                "top_reasons": meta["top_reasons"], "path": meta["path"], "weights": meta["weights"],
                "encoder": meta["model_name"], "shards": meta["shards_recomputed"] + meta["shards_skipped"],
                "shards_skipped": meta["shards_skipped"]}
    if "embeddings" in stages:
        emit("stage", name="class embeddings and feature tables", detail=spec.name)
        result = execute(layout, extract_tables, {"resources": resources}, partition_key=spec.name)
        classes, tables = (asset_metadata(result, name) for name in asset_names("embeddings"))
        summary["embeddings"] = {"classes": classes.get("classes"), "skipped_unchanged": classes.get("skipped_unchanged"),
                                 "videos": tables.get("videos"), "missing_videos": tables.get("missing_videos"),
                                 "path": tables.get("path")}
    if run_spec is not None:
        out = train_and_report(layout, [run_spec], report_dir, execution, title=f"run {spec.name} {run_spec.variant}",
                               evaluate=until == "evaluate")
        summary["train"] = {k: out[k] for k in ("trained", "skipped", "failed", "variants")}
        if until == "evaluate":
            summary["evaluate"] = {**out.get("metrics", {}), "report": out.get("report")}
    return summary
