"""Run a sweep: its variants as one Dagster backfill, up to ``parallel`` runs at once.

Each variant is one run of ``train_variant`` for the partition ``dataset × variant``.
Variants whose run folder is current (evaluated on the same feature tables) are
skipped, so an interrupted sweep resumes and a grown one trains only what is new.
Runs execute in a pool of ``parallel`` processes (in this process when 1), each with
``threads`` torch threads; their progress events travel back over a queue.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import threading
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import dagster as dg

from assets import RUN_STAGES, asset_names
from assets.partitions import run_partition_key
from avgzsl.errors import RunFailed
from avgzsl.experiments.runs import feature_tables, inputs_digest, is_current
from avgzsl.experiments.spec import RunSpec
from avgzsl.layout import StateLayout
from avgzsl.progress import emit, reporting
from pipelines import backfills
from pipelines.jobs import train_variant
from pipelines.launch import asset_graph, ensure_partitions, execute, instance as dagster_instance
from resources.mlflow import PARENT_TAG, MlflowResource


@dataclass
class SweepOutcome:
    trained: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # variant → why
    run_ids: dict[str, str] = field(default_factory=dict)  # variant → Dagster run id
    backfill_id: str | None = None
    mlflow_parent_run_id: str | None = None


def _train(layout: StateLayout, spec: RunSpec, tags: dict, training: dict, assets: list[str],
           events=None) -> tuple[str | None, str | None]:
    """One variant's run: (error or None, Dagster run id).  Runs in a pool worker or in this process."""
    with reporting(events.put) if events is not None else contextlib.nullcontext():
        emit("run_started", dataset=spec.dataset, variant=spec.variant)
        error, run_id = None, None
        try:
            run_id = execute(layout, train_variant, {"resources": {"training": {"config": training}}},
                             partition_key=run_partition_key(spec), assets=assets, tags=tags).run_id
        except RunFailed as failed:
            error, run_id = str(failed), failed.run_id
        except Exception as failed:  # a worker must report, never die silently
            error = f"{type(failed).__name__}: {failed}\n{traceback.format_exc(limit=3)}"
        emit("run_finished", dataset=spec.dataset, variant=spec.variant, run_id=run_id, error=error)
        return error, run_id


def run_sweep(layout: StateLayout, specs: list[RunSpec], training: dict, parallel: int, title: str,
              assets: list[str] | None = None) -> SweepOutcome:
    """Train and evaluate every spec that is not current; progress goes to this process's sinks.

    ``training``: the training resource's config for every run (``threads``, ``device``).
    """
    assets = assets or asset_names(*RUN_STAGES)
    outcome = SweepOutcome()
    todo = []
    digests: dict[str, str] = {}
    for spec in specs:
        tables = feature_tables(layout, spec)
        key = str(tables[0])
        digests.setdefault(key, inputs_digest(tables))
        if "gzsl_evaluation" in assets and is_current(layout.run(spec.dataset, spec.variant), digests[key]):
            outcome.skipped.append(spec.variant)
            emit("run_skipped", dataset=spec.dataset, variant=spec.variant)
        else:
            todo.append(spec)
    if not todo:
        return outcome
    instance = dagster_instance(layout)
    ensure_partitions(layout, "dataset", sorted({s.dataset for s in todo}))
    ensure_partitions(layout, "variant", [s.variant for s in todo])
    graph, keys = asset_graph(), [dg.AssetKey(a) for a in assets]
    record = backfills.open_backfill(instance, graph, [run_partition_key(s) for s in todo], keys, title,
                                     {"avgzsl/sweep": title})
    outcome.backfill_id = record.backfill_id
    mlflow = MlflowResource.of(layout)
    datasets = sorted({s.dataset for s in todo})
    if len(specs) > 1 and len(datasets) == 1:
        outcome.mlflow_parent_run_id = mlflow.start_parent(datasets[0], title, {"variants": len(specs)})
    tags = {**backfills.run_tags(record), **({PARENT_TAG: outcome.mlflow_parent_run_id}
                                              if outcome.mlflow_parent_run_id else {})}
    finished = _execute(layout, todo, tags, parallel, training, assets)
    for spec in todo:
        error, run_id = finished[spec.variant]
        if run_id:
            outcome.run_ids[spec.variant] = run_id
        if error:
            outcome.failed[spec.variant] = error
        else:
            outcome.trained.append(spec.variant)
    backfills.close_backfill(instance, graph, record.backfill_id, keys,
                             [run_partition_key(s) for s in todo if s.variant not in outcome.failed],
                             [run_partition_key(s) for s in todo if s.variant in outcome.failed])
    if outcome.mlflow_parent_run_id:
        mlflow.end_parent(outcome.mlflow_parent_run_id, {"trained": len(outcome.trained),
                                                          "failed": len(outcome.failed)}, bool(outcome.failed))
    return outcome


def _execute(layout: StateLayout, todo: list[RunSpec], tags: dict, parallel: int, training: dict,
             assets: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """Run every spec, ``parallel`` at a time; variant → (error or None, Dagster run id)."""
    if parallel <= 1 or len(todo) == 1:  # in this process: its events reach the sinks directly
        return {spec.variant: _train(layout, spec, tags, training, assets) for spec in todo}
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, _forwarding(manager.Queue()) as events:
        with ProcessPoolExecutor(max_workers=min(parallel, len(todo)), mp_context=context) as pool:
            futures = {spec.variant: pool.submit(_train, layout, spec, tags, training, assets, events) for spec in todo}
            return {variant: future.result() for variant, future in futures.items()}


class _forwarding:
    """Drain a queue of progress events into this process's sinks while the block runs."""

    def __init__(self, events):
        self.events = events
        self.thread = threading.Thread(target=self._drain, daemon=True)

    def _drain(self) -> None:
        while True:
            event = self.events.get()
            if event is None:
                return
            emit(event.pop("kind"), **event)

    def __enter__(self):
        self.thread.start()
        return self.events

    def __exit__(self, *exc):
        self.events.put(None)
        self.thread.join(timeout=10)
        return False
