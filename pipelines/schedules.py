"""Schedules that re-extract configured datasets: shard media/features, and class embeddings.

What they (and the sensor in ``pipelines/sensors.py``) act on is read at every tick
from a small YAML file, ``$AVGZSL_AUTOMATION`` or ``<state folder>/automation.yaml``
(see ``deploy/automation.example.yaml``)::

    datasets: [demo, ucf]        # re-extracted by the schedules (dataset partition keys)
    watch: [/data/my-dataset]    # custom dataset folders the sensor watches
    assets: [raw_videos, media_split, visual_features, audio_features]  # shard assets requested
    weights: pretrained          # encoder weights for feature steps (pretrained | random)

``AVGZSL_REEXTRACT_DATASETS`` (comma-separated) and ``AVGZSL_WATCH`` (paths separated
by ``os.pathsep``) override ``datasets`` and ``watch``.  ``AVGZSL_REEXTRACT_CRON``
(read when the code location loads; default Sundays 03:00) sets the cron.  Both
schedules start STOPPED.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import dagster as dg
import yaml

from avgzsl.datasets import parse_shard_key
from avgzsl.state import StateLayout
from pipelines.jobs import acquire_job, train_extracted_job

CONFIG_ENV, DATASETS_ENV, WATCH_ENV, CRON_ENV = ("AVGZSL_AUTOMATION", "AVGZSL_REEXTRACT_DATASETS", "AVGZSL_WATCH",
                                                 "AVGZSL_REEXTRACT_CRON")
SHARD_ASSETS = ("raw_videos", "media_split", "visual_features", "audio_features")  # acquire_media's selection
FEATURE_ASSETS = {"visual_features", "audio_features"}
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
CRON = os.environ.get(CRON_ENV, "0 3 * * 0")  # read when the code location loads


@dataclass(frozen=True)
class AutomationConfig:
    datasets: tuple[str, ...] = ()
    watch: tuple[str, ...] = ()
    assets: tuple[str, ...] = SHARD_ASSETS
    weights: str | None = None

    def run_config(self, encoders: bool) -> dict:
        """Run config of a request: the encoders' weights, when it runs encoders and weights are set."""
        from pipelines.launch import encoder_resources

        resources = encoder_resources(self.weights) if encoders else {}
        return {"resources": resources} if resources else {}

    def shard_run_config(self) -> dict:
        return self.run_config(encoders=bool(FEATURE_ASSETS & set(self.assets)))


def _strings(raw, key: str, source) -> tuple[str, ...]:
    value = raw.get(key) or ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{source}: '{key}' must be a list of strings")
    return tuple(value)


def load_automation(home: str | None = None) -> AutomationConfig:
    """The automation settings: the YAML file (if any), then the environment overrides."""
    path = Path(os.environ.get(CONFIG_ENV) or StateLayout.resolve(home).home / "automation.yaml")
    raw = (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}
    if not isinstance(raw, dict) or set(raw) - {"datasets", "watch", "assets", "weights"}:
        raise ValueError(f"{path}: expected a mapping with keys datasets, watch, assets, weights")
    assets = _strings(raw, "assets", path) or SHARD_ASSETS
    if set(assets) - set(SHARD_ASSETS):
        raise ValueError(f"{path}: assets must be among {', '.join(SHARD_ASSETS)}")
    datasets, watch = _strings(raw, "datasets", path), _strings(raw, "watch", path)
    if os.environ.get(DATASETS_ENV):
        datasets = tuple(d.strip() for d in os.environ[DATASETS_ENV].split(",") if d.strip())
    if os.environ.get(WATCH_ENV):
        watch = tuple(p for p in os.environ[WATCH_ENV].split(os.pathsep) if p)
    weights = raw.get("weights")
    if weights not in (None, "pretrained", "random"):
        raise ValueError(f"{path}: weights must be pretrained or random")
    return AutomationConfig(datasets, watch, tuple(a for a in SHARD_ASSETS if a in assets), weights)


def shard_ranges(all_keys: Sequence[str], wanted: Iterable[str]) -> list[tuple[str, str]]:
    """Contiguous blocks of ``wanted`` in ``all_keys`` order, as (first, last) pairs."""
    wanted, blocks, start, last = set(wanted), [], None, None
    for key in all_keys:
        if key in wanted:
            start, last = start or key, key
        elif start is not None:
            blocks.append((start, last))
            start = None
    if start is not None:
        blocks.append((start, last))
    return blocks


def shard_range_request(first: str, last: str, config: AutomationConfig, run_key: str) -> dg.RunRequest:
    """One single-run request of ``acquire_media`` over ``first...last`` for the configured shard assets."""
    return dg.RunRequest(run_key=run_key, job_name=acquire_job.name, run_config=config.shard_run_config(),
                         asset_selection=[dg.AssetKey(a) for a in config.assets],
                         tags={RANGE_START: first, RANGE_END: last, "avgzsl/shards": f"{first}...{last}"})


def dataset_shards(all_keys: Sequence[str], dataset: str) -> list[str]:
    out = []
    for key in all_keys:
        try:
            if parse_shard_key(key)[0] == dataset:
                out.append(key)
        except ValueError:
            continue
    return out


def _skip_or(requests: list, skipped: list[str]):
    return requests or dg.SkipReason("; ".join(skipped) or f"no datasets configured (set {DATASETS_ENV} or "
                                                            f"'datasets' in automation.yaml)")


@dg.schedule(name="reextract_shards", job=acquire_job, cron_schedule=CRON,
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


@dg.schedule(name="reextract_class_embeddings", job=train_extracted_job,
             cron_schedule=CRON, default_status=dg.DefaultScheduleStatus.STOPPED,
             description="Re-materialize class_embeddings (CLIP + CLAP text) of each configured dataset.")
def reextract_class_embeddings(context: dg.ScheduleEvaluationContext):
    config = load_automation()
    requests, skipped = [], []
    for dataset in config.datasets:
        if not context.instance.has_dynamic_partition("dataset", dataset):
            skipped.append(f"{dataset}: no such dataset partition (materialize its video_manifest first)")
            continue
        requests.append(dg.RunRequest(run_key=dataset, partition_key=dataset, run_config=config.run_config(True),
                                      asset_selection=[dg.AssetKey("class_embeddings")]))
    return _skip_or(requests, skipped)


schedules = [reextract_shards, reextract_class_embeddings]
