"""Sensors: custom datasets' ``sources.csv`` (only the missing work is requested) and the predictions inbox.

Watched folders come from ``watch`` in the automation YAML or ``AVGZSL_WATCH`` (see
``pipelines/automation.py``).  At each tick, for each folder, the sensor builds the
manifest the folder describes now (``sources.csv``, ``class-split/``, ``dataset.yaml``;
cheap, no media is read) and compares it, shard by shard, with the stored one:

1. the stored manifest differs → one ``video_manifest_job`` run for the dataset (its
   run key and the cursor hold the new manifest's digest: the same file seen twice
   asks once), registering the ``dataset`` partition if needed; shard work waits for
   that run, which registers the new shard partitions;
2. the stored manifest is current → ``acquire_media`` runs (one single-run range per
   contiguous block) for the shards whose rows changed since the cursor's record of
   them; the first time a dataset is seen, for its shards not yet materialized.

Cursor: JSON ``{dataset: {"manifest": digest, "shards": {shard key: row digest},
"requests": n}}``; ``n`` numbers the request batches and is part of their run keys, so
that a file changed back to an earlier state is processed again.

``inbox_sensor`` watches ``<state>/inbox/<dataset>/`` (videos plus ``classes.txt``, optionally
``predict.yaml`` with the ``predictions`` asset's config): when the folder's files change, one run of
``predict_inbox`` classifies its videos with the dataset's model.  Cursor: ``{dataset: digest}``.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg
import polars as pl
import yaml

from assets import asset_config, gzsl_results, predictions, video_manifest
from assets.partitions import dataset_partitions, shard_partitions
from avgzsl.data.datasets import build_manifest, load_dataset_spec, shard_key
from avgzsl.data.validate import DataError
from pipelines.automation import AutomationConfig, load_automation, shard_ranges
from avgzsl.predict import VIDEO_SUFFIXES
from pipelines.jobs import acquire_media, predict_inbox, video_manifest_job
from pipelines.schedules import shard_range_request
from resources import StateResource

ROW_COLUMNS = ["video_id", "class_name", "split", "url", "start_seconds", "end_seconds"]


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def shard_digests(manifest: pl.DataFrame, dataset: str) -> dict[str, str]:
    """Shard key → digest of its rows (what its download, split and features depend on)."""
    out = {}
    for (shard,), rows in sorted(manifest.partition_by("shard", as_dict=True).items()):
        out[shard_key(dataset, int(shard))] = _digest(rows.sort("video_id").select(ROW_COLUMNS).rows())
    return out


def _next(entry: dict) -> int:
    """The dataset's request batch number, part of run keys: a change back to earlier files still runs."""
    entry["requests"] = entry.get("requests", 0) + 1
    return entry["requests"]


class _Tick:
    """One evaluation: the requests and partition registrations it gathers, and the cursor it updates."""

    def __init__(self, context: dg.SensorEvaluationContext, layout, config: AutomationConfig):
        self.instance, self.log, self.layout, self.config = context.instance, context.log, layout, config
        self.cursor = json.loads(context.cursor or "{}")
        self.requests: list[dg.RunRequest] = []
        self.partitions: list = []
        self.notes: list[str] = []

    def watch(self, folder: Path) -> None:
        spec = load_dataset_spec(folder)
        if spec.benchmark:
            raise DataError(f"{folder}: a benchmark has no sources.csv to watch")
        paths = self.layout.dataset(spec.name)
        want = shard_digests(build_manifest(spec, Path(spec.root) / "class-split",
                                            previous=paths.previous_manifest(spec)), spec.name)
        stored = shard_digests(paths.read_manifest(), spec.name) if paths.manifest.exists() else None
        entry = self.cursor.setdefault(spec.name, {})
        if stored != want:
            self._manifest(spec, _digest(want), entry)
        else:
            self._shards(spec.name, want, entry)

    def _manifest(self, spec, digest: str, entry: dict) -> None:
        if entry.get("manifest") == digest:
            self.notes.append(f"{spec.name}: manifest run {digest} already requested (pending or failed)")
            return
        if not self.instance.has_dynamic_partition("dataset", spec.name):
            self.partitions.append(dataset_partitions.build_add_request([spec.name]))
        entry["manifest"] = digest
        self.requests.append(dg.RunRequest(
            run_key=f"{spec.name}:{_next(entry)}:manifest:{digest}", job_name=video_manifest_job.name,
            partition_key=spec.name,
            run_config=asset_config(video_manifest, {"source": spec.root}),
            tags={"avgzsl/sources": str(Path(spec.root) / "sources.csv")}))
        self.log.info(f"{spec.name}: sources changed, manifest requested ({digest})")

    def _shards(self, dataset: str, want: dict[str, str], entry: dict) -> None:
        seen = entry.get("shards")
        if seen is None:  # first look: whatever was never materialized
            done = set.intersection(*(self.instance.get_materialized_partitions(dg.AssetKey(a))
                                      for a in self.config.assets))
            todo = [k for k in want if k not in done]
        else:
            todo = [k for k, digest in want.items() if seen.get(k) != digest]
        entry["shards"] = want
        registered = list(self.instance.get_dynamic_partitions("shard"))
        missing = sorted(set(want) - set(registered))
        if missing:
            self.partitions.append(shard_partitions.build_add_request(missing))
        if not todo:
            self.notes.append(f"{dataset}: no new or changed shards")
            return
        batch = _next(entry)
        for first, last in shard_ranges(registered + missing, todo):
            self.requests.append(shard_range_request(first, last, self.config, f"{dataset}:{batch}:{first}...{last}"))
            self.log.info(f"{dataset}: shards {first}...{last} requested")


@dg.sensor(name="custom_sources_sensor", jobs=[video_manifest_job, acquire_media], minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.STOPPED,
           description="Watches custom datasets' sources.csv (AVGZSL_WATCH or 'watch' in automation.yaml): "
                       "rebuilds a changed manifest, then runs only the new or changed shards.")
def custom_sources_sensor(context: dg.SensorEvaluationContext, state: StateResource):
    config = load_automation(state.home)
    tick = _Tick(context, state.layout(), config)
    for folder in config.watch:
        try:
            tick.watch(Path(folder))
        except (DataError, OSError, pl.exceptions.PolarsError) as error:
            context.log.warning(f"{folder}: {error}")
            tick.notes.append(f"{folder}: {error}")
    return dg.SensorResult(run_requests=tick.requests, dynamic_partitions_requests=tick.partitions,
                           cursor=json.dumps(tick.cursor, sort_keys=True),
                           skip_reason=None if tick.requests else ("; ".join(tick.notes) or "nothing to watch"))


def _inbox_request(folder: Path, digest: str) -> dg.RunRequest:
    settings = folder / "predict.yaml"
    config = yaml.safe_load(settings.read_text()) if settings.is_file() else None
    if config is not None and not isinstance(config, dict):
        raise ValueError(f"{settings}: expected a mapping of the predictions asset's config")
    return dg.RunRequest(run_key=f"{folder.name}:{digest}", job_name=predict_inbox.name, partition_key=folder.name,
                         run_config=asset_config(predictions, config) if config else {})


@dg.sensor(name="inbox_sensor", jobs=[predict_inbox], minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.STOPPED,
           description="Watches <state>/inbox/<dataset>/: when its videos or classes.txt change, classifies the "
                       "videos with the dataset's model (the predictions asset).")
def inbox_sensor(context: dg.SensorEvaluationContext, state: StateResource):
    root = state.layout().home / "inbox"
    cursor = json.loads(context.cursor or "{}")
    requests, partitions, notes = [], [], []
    for folder in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
        files = sorted((p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
                       for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not any(Path(name).suffix.lower() in VIDEO_SUFFIXES for name, _, _ in files):
            notes.append(f"{folder.name}: no videos")
            continue
        digest = _digest(files)
        if cursor.get(folder.name) == digest:
            notes.append(f"{folder.name}: unchanged")
            continue
        try:
            requests.append(_inbox_request(folder, digest))
        except (OSError, ValueError, yaml.YAMLError) as error:
            context.log.warning(str(error))
            notes.append(str(error))
            continue
        cursor[folder.name] = digest
        if not context.instance.has_dynamic_partition("dataset", folder.name):
            partitions.append(dataset_partitions.build_add_request([folder.name]))
    return dg.SensorResult(run_requests=requests, dynamic_partitions_requests=partitions,
                           cursor=json.dumps(cursor, sort_keys=True),
                           skip_reason=None if requests else ("; ".join(notes) or f"no folders in {root}"))


# Evaluates gzsl_results' automation condition (refresh after any evaluation); the daemon of `avgzsl ui` runs it.
results_automation = dg.AutomationConditionSensorDefinition(
    "results_automation", target=[gzsl_results], default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30, description="Refreshes gzsl_results after any evaluation of its dataset.")

sensors = [custom_sources_sensor, inbox_sensor, results_automation]
