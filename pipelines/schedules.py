"""Schedules that re-extract configured datasets: shard media/features, and class embeddings.

What they act on comes from the automation YAML (:mod:`pipelines.automation`).
``AVGZSL_REEXTRACT_CRON`` (read when the code location loads; default Sundays 03:00)
sets the cron.  Both schedules start STOPPED.

Shard assets have a single-run backfill policy, so shards are requested as partition
*ranges* (one run per range).  The installed Dagster's ``RunRequest`` has no
``partition_key_range`` argument; a range is given by the
``dagster/asset_partition_range_start/end`` tags, as Dagster's own automation does.
Dynamic partition ranges follow the instance's key order, in which shards of
different datasets may interleave, so a dataset's shards become one request per
contiguous block.
"""
from __future__ import annotations

import os

import dagster as dg

from assets import STAGES
from pipelines.automation import DATASETS_ENV, AutomationConfig, dataset_shards, load_automation, shard_ranges
from pipelines.jobs import acquire_media, extract_tables
from pipelines.run_config import range_tags

CRON_ENV = "AVGZSL_REEXTRACT_CRON"
CRON = os.environ.get(CRON_ENV, "0 3 * * 0")  # read when the code location loads


def shard_range_request(first: str, last: str, config: AutomationConfig, run_key: str) -> dg.RunRequest:
    """One single-run request of ``acquire_media`` over ``first...last`` for the configured shard assets."""
    return dg.RunRequest(run_key=run_key, job_name=acquire_media.name, run_config=config.shard_run_config(),
                         asset_selection=[dg.AssetKey(a) for a in config.assets],
                         tags={**range_tags(first, last), "avgzsl/shards": f"{first}...{last}"})


def _skip_or(requests: list, skipped: list[str]):
    return requests or dg.SkipReason("; ".join(skipped) or f"no datasets configured (set {DATASETS_ENV} or "
                                                            f"'datasets' in automation.yaml)")


@dg.schedule(name="reextract_shards", job=acquire_media, cron_schedule=CRON,
             default_status=dg.DefaultScheduleStatus.STOPPED,
             description="Re-run download → split → features (acquire_media) over every registered shard of the "
                         "configured datasets, one single-run range per contiguous block of shards.")
def reextract_shards(context: dg.ScheduleEvaluationContext):
    config = load_automation()
    all_keys = context.instance.get_dynamic_partitions("shard")
    requests, skipped = [], []
    for dataset in config.datasets:
        keys = dataset_shards(all_keys, dataset)
        if not keys:
            skipped.append(f"{dataset}: no shards registered (materialize its video_manifest first)")
        for first, last in shard_ranges(all_keys, keys):
            requests.append(shard_range_request(first, last, config, run_key=f"{first}...{last}"))
    return _skip_or(requests, skipped)


@dg.schedule(name="reextract_class_embeddings", job=extract_tables,
             cron_schedule=CRON, default_status=dg.DefaultScheduleStatus.STOPPED,
             description="Re-materialize class_embeddings (CLIP + CLAP text) and the feature tables of each configured dataset.")
def reextract_class_embeddings(context: dg.ScheduleEvaluationContext):
    config = load_automation()
    requests, skipped = [], []
    for dataset in config.datasets:
        if not context.instance.has_dynamic_partition("dataset", dataset):
            skipped.append(f"{dataset}: no such dataset partition (materialize its video_manifest first)")
            continue
        requests.append(dg.RunRequest(run_key=dataset, partition_key=dataset, run_config=config.run_config(True),
                                      asset_selection=[a.key for a in STAGES["embeddings"]]))
    return _skip_or(requests, skipped)


schedules = [reextract_shards, reextract_class_embeddings]
