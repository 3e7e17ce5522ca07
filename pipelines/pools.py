"""Waiting for a pool slot (the encoder steps' ``gpu`` pool): calm, said once, healed, and stoppable.

Dagster 1.13's in-process wait for a pool slot has three faults this module fixes by
wrapping two methods of its ``InstanceConcurrencyContext`` (:func:`install`, idempotent):

* it busy-waits (its sleep interval is ``min(0, ...)``: 100 % of a core); here the
  run sleeps until its next claim attempt (at most :data:`MAX_SLEEP_S`);
* it cannot be stopped: SIGINT/SIGTERM are deferred to step boundaries, which a
  waiting run never reaches; here a captured Ctrl-C ends the wait, the run fails as
  interrupted, and :func:`interrupted` tells the launcher to say so;
* it waits forever for a slot whose holder is dead; here, each time a claim fails,
  the holders are checked and dead ones reaped (:func:`pipelines.recovery.reap`), and
  a wait for a live holder is said once, with what to do.

Uses ``dagster._core`` (checked with 1.13).
"""
from __future__ import annotations

import logging
import time

from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._utils.interrupts import check_captured_interrupt, pop_captured_interrupt

from avgzsl.progress import emit

MAX_SLEEP_S = 1.0
log = logging.getLogger(__name__)
_STATE = {"installed": False, "interrupted": False, "said": set()}


def interrupted() -> bool:
    """Whether a pool wait of this process was ended by Ctrl-C since the last call (and reset)."""
    was, _STATE["interrupted"] = _STATE["interrupted"], False
    return was


def install() -> None:
    """Wrap Dagster's slot claim and wait (once per process)."""
    if _STATE["installed"]:
        return
    claim, _STATE["installed"] = InstanceConcurrencyContext.claim, True

    def patched_claim(self, concurrency_key: str, step_key: str, step_priority: int = 0) -> bool:
        attempt = time.time() >= self._pending_timeouts.get(step_key, 0.0)  # a real claim, not a cached refusal
        first = step_key not in self._pending_claims
        if claim(self, concurrency_key, step_key, step_priority):
            return True
        if attempt and _heal(self._instance, concurrency_key):
            self._pending_timeouts[step_key] = 0.0  # a dead holder was freed: claim again at once
        elif first and (self._run_id, concurrency_key) not in _STATE["said"]:
            _STATE["said"].add((self._run_id, concurrency_key))
            _say_blocked(self._instance, concurrency_key, step_key)
        return False

    def interval(self) -> float:
        if not self._pending_claims:
            return 0.0
        if check_captured_interrupt():
            pop_captured_interrupt()
            _STATE["interrupted"] = True
            raise DagsterExecutionInterruptedError("interrupted while waiting for a pool slot")
        waits = [ready - time.time() for ready in self._pending_timeouts.values()]
        return min(MAX_SLEEP_S, max(0.0, min(waits, default=0.0)))

    InstanceConcurrencyContext.claim = patched_claim
    InstanceConcurrencyContext.interval_to_next_pending_claim_check = interval


def _holders(instance, pool: str) -> list:
    return [instance.get_run_by_id(run_id) for run_id in
            instance.event_log_storage.get_concurrency_info(pool).active_run_ids]


def _heal(instance, pool: str) -> bool:
    """Reap dead holders of the pool's slots; whether any slot was freed."""
    from pipelines.recovery import owner_alive, reap

    holders = _holders(instance, pool)
    if not any(run is None or run.is_finished or owner_alive(instance, run) is False for run in holders):
        return False
    reap(instance)
    return True


def _say_blocked(instance, pool: str, step_key: str) -> None:
    from pipelines.recovery import OWNER_TAG

    info = instance.event_log_storage.get_concurrency_info(pool)
    holders = [run for run in _holders(instance, pool) if run is not None]
    who = ", ".join(f"run {run.run_id[:8]} ({run.job_name}, process {run.tags.get(OWNER_TAG, '?').split(':')[-2]})"
                    if run.tags.get(OWNER_TAG, "").count(":") >= 2 else f"run {run.run_id[:8]} ({run.job_name})"
                    for run in holders) or "another run"
    detail = (f"{step_key} waits: the {info.slot_count} slot(s) of pool '{pool}' are held by {who}, still running; "
              f"it starts when a slot frees (a run whose process is gone is freed at once). Ctrl-C stops waiting; "
              f"`dagster instance concurrency set {pool} N` allows N at once")
    log.warning(detail)
    emit("stage", name=f"waiting for pool '{pool}'", detail=detail)
