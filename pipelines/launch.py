"""Launch materializations in the project's persistent instance (what the CLI calls)."""
from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from avgzsl.acquire import DatasetPaths, stage_summary
from avgzsl.datasets import load_dataset_spec, parse_shard_key
from avgzsl.features import read_vectors
from avgzsl.state import StateLayout

PIPELINE_STAGES = ("download", "split", "features", "embeddings", "train", "evaluate")
SHARD_ASSETS = {"download": ("raw_videos",), "split": ("media_split",),
                "features": ("visual_features", "audio_features")}
DATASET_ASSETS = {"embeddings": ("class_embeddings",), "train": ("extracted_features", "clipclap_stage1",
                                                                 "clipclap_stage2"),
                  "evaluate": ("gzsl_evaluation",)}


def _root_cause(error) -> str:
    """The user-facing message at the bottom of Dagster's error chain."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def execute(job_name: str, run_config: dict | None = None, partition_key: str | None = None,
            partition_range: tuple[str, str] | None = None, assets: list[str] | None = None):
    """Run a job of the code location in process; raise SystemExit with the root causes on failure."""
    from pipelines.definitions import defs

    tags = {}
    if partition_range:
        tags = {"dagster/asset_partition_range_start": partition_range[0],
                "dagster/asset_partition_range_end": partition_range[1]}
    job = defs.resolve_job_def(job_name)
    result = job.execute_in_process(
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


def reproduce(dataset: str, features_root: Path, benchmark: str, split_folder: str, train: dict,
              report_dir: Path) -> dict:
    """Materialize import → stage 1 → stage 2 → evaluation for one dataset partition."""
    ensure_partition("dataset", dataset)
    run_config = {"ops": {
        "published_features": {"config": {"features_root": str(features_root.resolve()), "benchmark": benchmark,
                                          "split_folder": split_folder}},
        "clipclap_stage1": {"config": train},
        "clipclap_stage2": {"config": train},
        "gzsl_evaluation": {"config": {**train, "report_dir": str(report_dir.resolve())}},
    }}
    execute("reproduce_published", run_config, partition_key=dataset)
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
    execute("video_manifest_job", {"ops": {"video_manifest": {"config": manifest_config}}}, partition_key=spec.name)
    paths = DatasetPaths.of(layout, spec.name)
    keys = select_shards(paths.shard_keys(spec.name), shards)
    stages = PIPELINE_STAGES[: PIPELINE_STAGES.index(until) + 1]
    resources = encoder_resources(weights, encoders)
    shard_assets = [a for s in stages for a in SHARD_ASSETS.get(s, ())]
    execute("acquire_media", {"resources": resources} if "features" in stages else None,
            partition_range=(keys[0], keys[-1]), assets=shard_assets)
    summary = {s: stage_summary(paths, s, keys) for s in ("download", "split") if s in stages}
    if "features" in stages:
        for kind in ("visual", "audio"):
            files = [paths.feature_shard(kind, k) for k in keys]
            ids, _, meta = read_vectors(files)
            summary[f"{kind}_features"] = {"ok": len(ids), "path": str(files[0].parent),
                                           "weights": meta.get("weights", ""), "encoder": meta.get("model_name", "")}
    dataset_assets = [a for s in stages for a in DATASET_ASSETS.get(s, ())]
    if dataset_assets:
        train = {**(train or {}), "features": "extracted"}
        ops = {"clipclap_stage1": {"config": train}, "clipclap_stage2": {"config": train},
               "gzsl_evaluation": {"config": {**train, **({"report_dir": str(Path(report_dir).resolve())}
                                                          if report_dir else {})}}}
        result = execute("train_extracted", {"resources": resources, "ops": {a: ops[a] for a in dataset_assets
                                                                             if a in ops}},
                         partition_key=spec.name, assets=dataset_assets)
        for stage in ("embeddings", "train", "evaluate"):
            if stage in stages:
                summary[stage] = _asset_metadata(result, DATASET_ASSETS[stage][-1])
    return summary


def encoder_resources(weights: str | None, encoders: dict | None = None) -> dict:
    """Run config for both encoders: ``weights`` (pretrained | random) plus any extra settings."""
    extra = encoders or {}
    out = {}
    for name in ("visual_encoder", "audio_encoder"):
        config = {**extra.get(name, {}), **({"weights": weights} if weights else {})}
        if config:
            out[name] = {"config": config}
    return out


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
