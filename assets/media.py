"""The video half of the DAG: manifest → raw_videos (download) → media_split (frames + audio)."""
from pathlib import Path
from typing import Optional

import dagster as dg
from pydantic import Field

from assets.partitions import dataset_partitions, shard_partitions
from assets.shards import ALL, run_shards, status_counts
from avgzsl.coordination import file_lock
from avgzsl.data.datasets import build_manifest, load_dataset_spec
from avgzsl.data.split_files import fetch_class_splits
from avgzsl.data.store import write_parquet_atomic, write_text_atomic
from avgzsl.media.shards import download_shard, split_shard, stage_summary
from resources import MediaResource, StateResource



class ManifestConfig(dg.Config):
    source: Optional[str] = Field(default=None, description="benchmark key (ucf | activitynet | vggsound) or a custom "
                                                             "dataset folder; default: the partition key")
    splits_from: Optional[str] = Field(default=None, description="local class-split folder instead of downloading "
                                                                  "the benchmark's split files")
    shard_size: Optional[int] = None
    sample_rate: Optional[int] = None
    n_frames: Optional[int] = None
    frame_policy: Optional[str] = Field(default=None, description="exact (the authors' middle frame, default) or "
                                                                   "keyframe (the last keyframe at or before it)")
    annotations: Optional[str] = Field(default=None, description="ActivityNet annotation JSON (segment times)")


class ShardCheckConfig(dg.Config):
    max_failure_rate: float = Field(default=0.2, description="asset check fails for shards failing more videos")


@dg.asset(partitions_def=dataset_partitions, group_name="media", kinds={"parquet"}, owners=["team:avgzsl"],
          description="One row per video of the protocol's splits: class, split, source URL and shard. "
                      "Registers the dataset's shard partitions.")
def video_manifest(context: dg.AssetExecutionContext, config: ManifestConfig, state: StateResource) -> dg.MaterializeResult:
    dataset = context.partition_key
    spec = load_dataset_spec(config.source or dataset, shard_size=config.shard_size, sample_rate=config.sample_rate,
                             n_frames=config.n_frames, frame_policy=config.frame_policy,
                             annotations=config.annotations)
    if spec.name != dataset:
        raise dg.Failure(f"dataset {spec.name!r} (from {config.source}) materialized under partition {dataset!r}")
    paths = state.layout().dataset(dataset)
    split_dir = (fetch_class_splits(spec.benchmark, paths.root, source=config.splits_from) if spec.benchmark
                 else Path(spec.root) / "class-split")
    manifest = build_manifest(spec, split_dir, previous=paths.previous_manifest(spec))
    write_parquet_atomic(manifest.to_arrow(), paths.manifest)
    write_text_atomic(spec.as_json(), paths.spec)
    keys = paths.shard_keys(dataset)
    dropped = paths.drop_shards(keys)
    with file_lock(state.layout().lock_file("dagster")):  # concurrent runs register a key once
        new = [k for k in keys if not context.instance.has_dynamic_partition("shard", k)]
        if new:
            context.instance.add_dynamic_partitions("shard", new)
    per_split = manifest.group_by("split").len().sort("split")
    return dg.MaterializeResult(metadata={
        "videos": manifest.height, "classes": manifest["class_name"].n_unique(), "shards": len(keys),
        "new_shards": len(new), "files_of_dropped_shards_deleted": len(dropped),
        "first_shard": keys[0] if keys else "", "last_shard": keys[-1] if keys else "",
        "videos_per_split": dg.MetadataValue.json(dict(per_split.iter_rows())),
        "manifest_path": dg.MetadataValue.path(str(paths.manifest)),
    })


def _shard_result(stage: str, done: list, max_failure_rate: float, extra: dict) -> dg.MaterializeResult:
    by_dataset: dict = {}
    for key, paths, _ in done:
        by_dataset.setdefault(paths, []).append(key)
    summary = {"ok": 0, "failed": 0, "skipped": 0}
    bad_shards, reasons = [], []
    for paths, keys in by_dataset.items():
        for key in keys:
            s = stage_summary(paths, stage, [key])
            if s.total and s.failed / s.total > max_failure_rate:
                bad_shards.append(f"{key} ({s.failed}/{s.total})")
            for k in summary:
                summary[k] += getattr(s, k)
            reasons += s.top_reasons
    ledger_dir = str(next(iter(by_dataset)).ledger(stage, done[0][0]).parent) if done else ""
    failures = "\n".join(f"- {r} × {n}" for r, n in reasons[:10]) or "none"
    return dg.MaterializeResult(
        metadata={**summary, "shards": len(done), "ledgers": dg.MetadataValue.path(ledger_dir),
                  "failure_reasons": dg.MetadataValue.md(failures), **extra},
        check_results=[dg.AssetCheckResult(
            check_name="failure_rate", passed=not bad_shards,
            description=f"shards over {max_failure_rate:.0%} failed: {', '.join(bad_shards)}" if bad_shards
            else f"every shard within {max_failure_rate:.0%} failures",
            metadata={"shards_over_threshold": len(bad_shards)})])


def _failure_check(asset: str) -> list:
    return [dg.AssetCheckSpec("failure_rate", asset=asset, description="share of failed videos per shard is "
                                                                         "at most max_failure_rate")]


@dg.asset(partitions_def=shard_partitions, group_name="media", kinds={"python"}, owners=["team:avgzsl"],
          deps=[dg.AssetDep(video_manifest, partition_mapping=ALL)], check_specs=_failure_check("raw_videos"),
          backfill_policy=dg.BackfillPolicy.single_run(),
          description="The shard's source videos, fetched with retries into the content-addressed store; "
                      "a ledger row per video (ok / failed with the reason / skipped when already there).")
def raw_videos(context: dg.AssetExecutionContext, config: ShardCheckConfig, state: StateResource,
               media: MediaResource) -> dg.MaterializeResult:
    done = run_shards(context, state, media, "download", download_shard, status_counts)
    return _shard_result("download", done, config.max_failure_rate, {})


@dg.asset(partitions_def=shard_partitions, group_name="media", kinds={"python"}, owners=["team:avgzsl"],
          deps=[raw_videos], check_specs=_failure_check("media_split"),
          backfill_policy=dg.BackfillPolicy.single_run(),
          description="Each downloaded video's middle frame (or N frames, PNG) and its audio as mono PCM at the "
                      "encoder's rate (WAV), by batched ffmpeg with seeking; a ledger row per video.")
def media_split(context: dg.AssetExecutionContext, config: ShardCheckConfig, state: StateResource,
                media: MediaResource) -> dg.MaterializeResult:
    done = run_shards(context, state, media, "split", split_shard, lambda out: status_counts(out[0]))
    not_downloaded = sum(out[1] for _, _, out in done)
    return _shard_result("split", done, config.max_failure_rate, {"not_downloaded": not_downloaded})
