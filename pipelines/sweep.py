"""Run a sweep: its variants as one Dagster backfill, up to ``parallel`` runs at once.

Each variant is one run of ``train_variant`` for the partition ``dataset × variant``.
Variants whose run folder is current (evaluated on the same feature tables) are
skipped, so an interrupted sweep resumes and a grown one trains only what is new.
Runs execute in a pool of ``parallel`` processes (in this process when 1), each with
``threads`` torch threads; their progress events travel back over a queue.

A sweep's processes live and die with it:

* a variant is *claimed* before it is trained (a lock in the state folder,
  :func:`avgzsl.coordination.claim`): a second sweep over the same variant waits for
  the holder and then reuses its result, so no variant is trained twice at once;
* pool workers die with the sweep, however it ends (``kill -9`` included:
  :func:`avgzsl.coordination.die_with_parent`), and it is the sweep that stops them;
* on Ctrl-C or SIGTERM the sweep starts nothing new, interrupts its running variants
  (their workers are killed once the runs recorded their end, at most :data:`GRACE_S`),
  closes its backfill as canceled and its MLflow parent run as KILLED, and the command
  exits with status 130.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import threading
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from typing import NamedTuple

import dagster as dg

from assets import asset_names
from assets.partitions import run_partition_key
from avgzsl.coordination import claim, die_with_parent
from avgzsl.errors import RunFailed
from avgzsl.experiments.runs import Run, open_runs
from avgzsl.experiments.spec import RunSpec
from avgzsl.layout import StateLayout
from avgzsl.names import RUN_STAGES
from avgzsl.progress import emit, reporting
from pipelines import backfills, recovery
from pipelines.jobs import train_variant
from pipelines.launch import asset_graph, ensure_partitions, execute, instance as dagster_instance
from resources.mlflow import PARENT_TAG, MlflowResource

GRACE_S = 10.0  # after Ctrl-C / SIGTERM: how long running variants get to record their end before being killed
INTERRUPTED = "interrupted (Ctrl-C or SIGTERM)"
_WORKER: dict = {"stop": None, "events": None}  # a pool worker's channels to its sweep


class Finished(NamedTuple):
    """How one variant's run ended: its error (None: it succeeded), its Dagster run id, and whether
    another sweep trained it meanwhile (``reused``: its result is used, nothing was trained here)."""
    error: str | None
    run_id: str | None
    reused: bool = False


@dataclass
class SweepOutcome:
    trained: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # variant → why
    run_ids: dict[str, str] = field(default_factory=dict)  # variant → Dagster run id
    backfill_id: str | None = None
    mlflow_parent_run_id: str | None = None


def _start_worker(parent: int, events, stop) -> None:
    """A pool worker's start: die with the sweep, leave Ctrl-C to it, keep its channels."""
    die_with_parent(parent)
    for signum in (signal.SIGINT, signal.SIGTERM):  # the sweep stops its workers; a run in progress is
        signal.signal(signum, signal.SIG_IGN)      # still interrupted (Dagster handles SIGINT while it runs)
    _WORKER.update(events=events, stop=stop)


def _stopping() -> bool:
    return _WORKER["stop"] is not None and _WORKER["stop"].is_set()


def _train(run: Run, key: dg.MultiPartitionKey, tags: dict, training: dict, assets: list[str],
           evaluate: bool) -> Finished:
    """One variant's run (partition ``key``), once claimed.  Runs in a pool worker or in this process.

    ``evaluate``: the assets end with the evaluation; a variant another sweep made current while this one
    waited for its claim is then not trained again (``reused``).
    """
    spec, layout = run.spec, run.layout
    events = _WORKER["events"]
    with reporting(events.put) if events is not None else contextlib.nullcontext():
        if _stopping():
            return Finished(INTERRUPTED, None)
        said = []

        def waiting(holder: str) -> None:
            if _stopping():
                raise KeyboardInterrupt
            if not said:
                said.append(holder)
                pid = holder.split(":")[-2] if holder.count(":") >= 2 else "?"
                emit("stage", name=f"wait for {spec.variant}",
                     detail=f"another sweep (process {pid}) is training it; its result is used when it is done")

        with claim(layout.lock_file(f"variant-{spec.dataset}-{spec.variant}"), waiting):
            error, run_id = None, None
            try:
                if evaluate and run.current():  # another sweep finished it meanwhile
                    emit("run_skipped", dataset=spec.dataset, variant=spec.variant)
                    return Finished(None, None, reused=True)
                emit("run_started", dataset=spec.dataset, variant=spec.variant)
                run_id = execute(layout, train_variant, {"resources": {"training": {"config": training}}},
                                 partition_key=key, assets=assets, tags=tags).run_id
            except RunFailed as failed:
                error, run_id = str(failed), failed.run_id
            except Exception as failed:  # a worker must report, never die silently
                error = f"{type(failed).__name__}: {failed}\n{traceback.format_exc(limit=3)}"
            emit("run_finished", dataset=spec.dataset, variant=spec.variant, run_id=run_id, error=error)
            return Finished(error, run_id)


def run_sweep(layout: StateLayout, specs: list[RunSpec], training: dict, parallel: int, title: str,
              assets: list[str] | None = None) -> SweepOutcome:
    """Train and evaluate every spec that is not current; progress goes to this process's sinks.

    ``training``: the training resource's config for every run (``threads``, ``device``).
    """
    assets = assets or asset_names(*RUN_STAGES)
    evaluate = set(asset_names("evaluate")) <= set(assets)  # training alone is always redone
    outcome = SweepOutcome()
    partitions = {spec.variant: run_partition_key(spec) for spec in specs}
    todo: list[Run] = []
    for run in open_runs(layout, specs):
        if evaluate and run.current():  # training alone is never current
            outcome.skipped.append(run.spec.variant)
            emit("run_skipped", dataset=run.spec.dataset, variant=run.spec.variant)
        else:
            todo.append(run)
    if not todo:
        return outcome
    instance = dagster_instance(layout)
    ensure_partitions(layout, "dataset", sorted({r.spec.dataset for r in todo}))
    ensure_partitions(layout, "variant", [r.spec.variant for r in todo])
    graph, keys = asset_graph(), [dg.AssetKey(a) for a in assets]
    record = backfills.open_backfill(instance, graph, [partitions[r.spec.variant] for r in todo], keys, title,
                                     {"avgzsl/sweep": title})
    outcome.backfill_id = record.backfill_id
    mlflow = MlflowResource.of(layout)
    datasets = sorted({r.spec.dataset for r in todo})
    if len(specs) > 1 and len(datasets) == 1:
        outcome.mlflow_parent_run_id = mlflow.start_parent(datasets[0], title, {"variants": len(specs)})
    tags = {**backfills.run_tags(record), **({PARENT_TAG: outcome.mlflow_parent_run_id}
                                              if outcome.mlflow_parent_run_id else {})}
    finished: dict[str, Finished] = {}
    try:
        _execute(todo, partitions, tags, parallel, training, assets, evaluate, finished)
    except BaseException as stopped:  # Ctrl-C / SIGTERM (or a bug): record what ended, close the rest as canceled
        with contextlib.suppress(Exception):  # the runs of workers killed after the grace period, their MLflow runs
            recovery.reap(instance, str(layout.home))
            mlflow.close_dead_runs([run.run_id for run in instance.get_runs(dg.RunsFilter(tags=tags))
                                    if not run.is_success])
        _close(instance, graph, keys, record.backfill_id, mlflow, outcome, partitions, finished,
               "KILLED" if isinstance(stopped, KeyboardInterrupt) else "FAILED")
        raise
    _close(instance, graph, keys, record.backfill_id, mlflow, outcome, partitions, finished, None)
    if outcome.failed:  # a variant that failed between its stages shows stage 1's FINISHED
        mlflow.close_dead_runs([outcome.run_ids[v] for v in outcome.failed if v in outcome.run_ids], "FAILED")
    return outcome


def _close(instance, graph, keys, backfill_id: str, mlflow: MlflowResource, outcome: SweepOutcome,
           partitions: dict[str, dg.MultiPartitionKey], finished: dict[str, Finished], stopped: str | None) -> None:
    """Fill ``outcome`` from the variants that ended (``finished``, in the order they were planned); close the
    backfill and the MLflow parent run (``stopped``: the parent's status when the sweep was stopped before every
    variant ended)."""
    for variant in (v for v in partitions if v in finished):
        end = finished[variant]
        if end.run_id:
            outcome.run_ids[variant] = end.run_id
        if end.error:
            outcome.failed[variant] = end.error
        else:
            (outcome.skipped if end.reused else outcome.trained).append(variant)
    backfills.close_backfill(instance, graph, backfill_id, keys,
                             [key for v, key in partitions.items() if v in finished and v not in outcome.failed],
                             [key for v, key in partitions.items() if v in outcome.failed],
                             canceled=stopped is not None)
    if outcome.mlflow_parent_run_id:
        mlflow.end_parent(outcome.mlflow_parent_run_id, {"trained": len(outcome.trained),
                                                          "failed": len(outcome.failed)},
                          stopped or ("FAILED" if outcome.failed else "FINISHED"))


def _execute(todo: list[Run], partitions: dict[str, dg.MultiPartitionKey], tags: dict, parallel: int, training: dict, assets: list[str], evaluate: bool, finished: dict[str, Finished]) -> None:
    """Run every run, ``parallel`` at a time, into ``finished`` (variant → how it ended) as they end."""
    if parallel <= 1 or len(todo) == 1:  # in this process: its events reach the sinks directly
        for run in todo:
            try:
                finished[run.spec.variant] = _train(run, partitions[run.spec.variant], tags, training, assets,
                                                    evaluate)
            except KeyboardInterrupt:
                finished[run.spec.variant] = Finished(INTERRUPTED, None)
                raise
        return
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    with _forwarding(context.Queue()) as events:
        pool = ProcessPoolExecutor(max_workers=min(parallel, len(todo)), mp_context=context,
                                   initializer=_start_worker, initargs=(os.getpid(), events, stop))
        futures = {}
        try:
            futures = {pool.submit(_train, run, partitions[run.spec.variant], tags, training, assets, evaluate):
                       run.spec.variant for run in todo}
            for future in as_completed(futures):
                finished[futures[future]] = future.result()
        except BaseException:
            stop.set()
            _stop(pool, futures)
            for future, variant in futures.items():
                if future.done() and not future.cancelled() and variant not in finished:
                    error = future.exception()
                    finished[variant] = future.result() if error is None else Finished(INTERRUPTED, None)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _stop(pool: ProcessPoolExecutor, futures) -> None:
    """Start nothing new; interrupt the running variants and, once they recorded their end (at most
    GRACE_S), kill the workers (a worker's own exit is slow and has nothing left to do)."""
    workers = list((pool._processes or {}).values())  # no public accessor (stable since Python 3.2)
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        if worker.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGINT)
    wait(futures, timeout=GRACE_S)
    for worker in workers:
        if worker.is_alive():
            worker.kill()
        worker.join()


class _forwarding:
    """Drain a queue of progress events into this process's sinks while the block runs.

    Nothing is put from this side (an end marker could wait forever for the queue's lock
    held by a killed worker): the drain stops at the first empty poll after the block.
    """

    def __init__(self, events):
        self.events, self.done = events, threading.Event()
        self.thread = threading.Thread(target=self._drain, daemon=True)

    def _drain(self) -> None:
        while True:
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                if self.done.is_set():
                    return
                continue
            emit(event.pop("kind"), **event)

    def __enter__(self):
        self.thread.start()
        return self.events

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join(timeout=10)
        return False
