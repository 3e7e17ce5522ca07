"""Launch materializations in the project's persistent instance: what the CLI calls (an entry point)."""
from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from assets import SHARD_STAGES, STAGES, asset_names
from avgzsl.data.datasets import load_dataset_spec, parse_shard_key
from avgzsl.features.tables import read_vectors
from avgzsl.layout import StateLayout
from avgzsl.media.shards import stage_summary
from avgzsl.names import STREAMS
from pipelines.definitions import defs
from pipelines.jobs import acquire_media, reproduce_published, train_extracted, video_manifest_job
from pipelines.run_config import encoder_resources, range_tags

PIPELINE_STAGES = tuple(s for s in STAGES if s != "manifest")


def _root_cause(error) -> str:
    """The user-facing message at the bottom of Dagster's error chain."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def execute(job: dg.JobDefinition | dg.UnresolvedAssetJobDefinition, run_config: dict | None = None,
            partition_key: str | None = None, partition_range: tuple[str, str] | None = None,
            assets: list[str] | None = None):
    """Run a job of the code location in process; raise SystemExit with the root causes on failure."""
    tags = range_tags(*partition_range) if partition_range else {}
    result = defs.resolve_job_def(job.name).execute_in_process(
        run_config=run_config or {}, instance=dg.DagsterInstance.get(), partition_key=partition_key, tags=tags,
        asset_selection=[dg.AssetKey(a) for a in assets] if assets else None, raise_on_error=False)
    if not result.success:
        errors = [_root_cause(e.event_specific_data.error) for e in result.all_events
                  if e.is_step_failure and e.event_specific_data and e.event_specific_data.error]
        raise SystemExit(f"avgzsl: the run failed (Dagster run {result.run_id}):\n" + "\n".join(errors))
    return result


def ensure_partition(name: str, key: str) -> None:
    instance = dg.DagsterInstance.get()
    if not instance.has_dynamic_partition(name, key):
        instance.add_dynamic_partitions(name, [key])


def training_ops(train: dict, report_dir: Path | None, assets: list[str]) -> dict:
    """Op config of the training and evaluation assets among ``assets`` (they share the training settings)."""
    ops = {"clipclap_stage1": {"config": train}, "clipclap_stage2": {"config": train},
           "gzsl_evaluation": {"config": {**train, **({"report_dir": str(Path(report_dir).resolve())}
                                                      if report_dir else {})}}}
    return {a: ops[a] for a in assets if a in ops}


def reproduce(dataset: str, features_root: Path, benchmark: str, split_folder: str, train: dict,
              report_dir: Path) -> dict:
    """Materialize import → stage 1 → stage 2 → evaluation for one dataset partition."""
    ensure_partition("dataset", dataset)
    published = {"features_root": str(features_root.resolve()), "benchmark": benchmark, "split_folder": split_folder}
    ops = {"published_features": {"config": published},
           **training_ops(train, report_dir, ["clipclap_stage1", "clipclap_stage2", "gzsl_evaluation"])}
    execute(reproduce_published, {"ops": ops}, partition_key=dataset)
    return json.loads((report_dir / "metrics.json").read_text())


def select_shards(keys: list[str], shards: str | None) -> list[str]:
    """``a..b`` (inclusive shard numbers) or ``a`` picks shards; None picks all."""
    if not shards:
        return keys
    first, _, last = shards.partition("..")
    try:
        lo, hi = int(first), int(last or first)
    except ValueError:
        raise SystemExit(f"avgzsl: --shards {shards!r}: expected 'a..b' or 'a' (shard numbers)") from None
    picked = [k for k in keys if lo <= parse_shard_key(k)[1] <= hi]
    if not picked:
        raise SystemExit(f"avgzsl: --shards {shards}: no such shards (this dataset has {keys[0]}..{keys[-1]})")
    return picked


def run_pipeline(layout: StateLayout, dataset: str, until: str, shards: str | None = None,
                 splits_from: str | None = None, weights: str | None = None, report_dir: Path | None = None,
                 train: dict | None = None, encoders: dict | None = None) -> dict:
    """Manifest, then every stage up to ``until``; a summary per stage (what ``--json`` prints)."""
    spec = load_dataset_spec(dataset)
    ensure_partition("dataset", spec.name)
    manifest_config = {"source": str(dataset) if spec.benchmark else spec.root}
    if splits_from:
        manifest_config["splits_from"] = str(Path(splits_from).resolve())
    execute(video_manifest_job, {"ops": {"video_manifest": {"config": manifest_config}}}, partition_key=spec.name)
    paths = layout.dataset(spec.name)
    keys = select_shards(paths.shard_keys(spec.name), shards)
    stages = PIPELINE_STAGES[: PIPELINE_STAGES.index(until) + 1]
    resources = encoder_resources(weights, encoders)
    shard_assets = asset_names(*(s for s in stages if s in SHARD_STAGES))
    execute(acquire_media, {"resources": resources} if "features" in stages else None,
            partition_range=(keys[0], keys[-1]), assets=shard_assets)
    summary = {s: stage_summary(paths, s, keys) for s in ("download", "split") if s in stages}
    if "features" in stages:
        for stream in STREAMS:
            files = [paths.feature_shard(stream, k) for k in keys]
            ids, _, meta = read_vectors(files)
            summary[f"{stream}_features"] = {"ok": len(ids), "path": str(files[0].parent),
                                             "weights": meta.get("weights", ""), "encoder": meta.get("model_name", "")}
    dataset_stages = [s for s in stages if s not in SHARD_STAGES]
    if dataset_stages:
        dataset_assets = asset_names(*dataset_stages)
        train = {**(train or {}), "features": "extracted"}
        result = execute(train_extracted, {"resources": resources,
                                           "ops": training_ops(train, report_dir, dataset_assets)},
                         partition_key=spec.name, assets=dataset_assets)
        for stage in dataset_stages:
            summary[stage] = _asset_metadata(result, asset_names(stage)[-1])
    return summary


def _asset_metadata(result, asset: str) -> dict:
    """Plain values of an asset's materialization metadata in this run."""
    out = {}
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        if mat.asset_key == dg.AssetKey(asset):
            for key, value in mat.metadata.items():
                raw = getattr(value, "value", value)
                out[key] = raw if isinstance(raw, (int, float, str, bool)) or raw is None else str(raw)
    return out
