"""Runs whose process is gone: marked failed, their pool slots freed, their MLflow runs closed.

A run killed with ``kill -9`` (or lost with its machine's power) cannot record its own
end: Dagster keeps it ``STARTED``, its ``gpu`` pool slot stays claimed (so every later
encoder step would wait for it forever) and its MLflow run stays ``RUNNING``.  This
module finds such runs by their process:

* runs the CLI executes carry ``avgzsl/process`` (``host:pid:start time``, see
  :mod:`avgzsl.coordination`); runs Dagster launches (``dagster dev``) record their
  worker's pid in an engine event (trusted for runs a code server on this machine
  launched), checked against the process's start time so a reused pid is not
  mistaken for the run;
* :func:`reap` fails every in-flight run whose process is gone, frees the pool slots of
  runs that are over, closes their MLflow runs (KILLED) and cancels backfills of dead
  sweeps.  The CLI calls it before its first run in a state folder;
* :class:`LivenessRunLauncher` (configured in the generated ``dagster.yaml``) is
  Dagster's default launcher that can tell whether a run's process lives, so the
  daemon's run monitoring under ``dagster dev`` fails dead runs too, and frees their
  slots (``free_slots_after_run_end_seconds``).

Uses ``dagster._core`` (checked with 1.13).
"""
from __future__ import annotations

import json
import logging
import socket

import dagster as dg
from dagster._core.events import DagsterEventType
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter
from dagster._core.storage.tags import GRPC_INFO_TAG

from avgzsl.coordination import alive_since, process_token, token_alive

OWNER_TAG = "avgzsl/process"
# Statuses of a run that may still have a process; NOT_STARTED only for runs with an owner tag.
IN_FLIGHT = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING,
             DagsterRunStatus.NOT_STARTED]

log = logging.getLogger(__name__)


def owner_tags() -> dict[str, str]:
    """Tags naming this process as a run's owner."""
    return {OWNER_TAG: process_token()}


def owner_alive(instance: dg.DagsterInstance, run) -> bool | None:
    """Whether the process running ``run`` still runs; None when unknown (no record yet, another host)."""
    token = run.tags.get(OWNER_TAG)
    if token:
        return token_alive(token)
    if not _launched_here(run):  # e.g. a Kubernetes run: its pids are not this machine's
        return None
    for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT):
        data = entry.dagster_event.event_specific_data if entry.dagster_event else None
        pid = getattr(data, "metadata", {}).get("pid") if data is not None else None
        text = getattr(pid, "value", pid)
        if text is not None and str(text).isdigit():
            return alive_since(int(str(text)), entry.timestamp)
    return None


def _launched_here(run) -> bool:
    """Whether a code server on this machine launched the run (Dagster's default launcher records where)."""
    try:
        where = json.loads(run.tags.get(GRPC_INFO_TAG, "{}"))
    except ValueError:
        return False
    return "socket" in where or where.get("host") in ("localhost", "127.0.0.1", "::1", socket.gethostname())


def _owner(run) -> str:
    token = run.tags.get(OWNER_TAG, "")
    return f"process {token.split(':')[-2]}" if token.count(":") >= 2 else "its process"


def reap(instance: dg.DagsterInstance, home: str | None = None) -> list[str]:
    """Fail the in-flight runs whose process is gone and free the slots of runs that are over; their ids."""
    reaped = []
    for record in instance.get_run_records(filters=RunsFilter(statuses=IN_FLIGHT)):
        run = record.dagster_run
        if run.status == DagsterRunStatus.NOT_STARTED and OWNER_TAG not in run.tags:
            continue  # created by someone else, not started yet: the daemon's business
        if owner_alive(instance, run) is False:
            instance.report_run_failed(run, f"{_owner(run)} is gone (killed or crashed): marked failed by avgzsl, "
                                            "its pool slots freed")
            reaped.append(run.run_id)
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        for run_id in storage.get_concurrency_run_ids():
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                storage.free_concurrency_slots_for_run(run_id)
    if reaped:
        log.warning("marked failed: runs %s, whose processes are gone", ", ".join(reaped))
        _close_mlflow_runs(home, reaped)
    from pipelines.backfills import cancel_orphans

    cancel_orphans(instance)
    return reaped


def _close_mlflow_runs(home: str | None, dagster_run_ids: list[str]) -> None:
    from avgzsl.layout import StateLayout
    from resources.mlflow import MlflowResource

    layout = StateLayout.resolve(home)
    if (layout.mlflow_dir / "mlflow.db").exists():
        MlflowResource.of(layout).close_dead_runs(dagster_run_ids)


class LivenessRunLauncher(DefaultRunLauncher):
    """Dagster's default run launcher, able to tell the daemon's run monitoring whether a run's process lives."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        alive = owner_alive(self._instance, run)
        if alive is False:
            return CheckRunHealthResult(WorkerStatus.FAILED, f"{_owner(run)} is gone (killed or crashed)")
        return CheckRunHealthResult(WorkerStatus.RUNNING, "" if alive else "process not known yet")
