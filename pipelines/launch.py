"""Execute jobs of the code location in the project's persistent instance (the CLI's entry point to Dagster)."""
from __future__ import annotations

import dagster as dg

from avgzsl.coordination import file_lock
from avgzsl.data.datasets import parse_shard_key, parse_shard_range
from avgzsl.errors import OptionError, RunFailed, StateError, state_failure, storage_cause
from avgzsl.layout import StateLayout
from pipelines import pools, recovery
from pipelines.definitions import defs
from pipelines.run_config import range_tags
from pipelines.state import migrate_variant_keys, open_state

_CACHE: dict = {}
# A step ended by Ctrl-C / SIGTERM fails with one of these.
INTERRUPTS = ("DagsterExecutionInterruptedError", "KeyboardInterrupt")


def instance(layout: StateLayout) -> dg.DagsterInstance:
    """This process's Dagster instance of the state folder (opened with :func:`pipelines.state.open_state`).

    The first use of a state folder creates its SQLite storage: that happens under a
    file lock, so concurrent commands on a fresh folder do not race; then runs left
    behind by dead processes are failed and their pool slots freed (:mod:`pipelines.recovery`),
    and run folders and partitions of earlier variant keys are renamed (:func:`migrate_variant_keys`).
    """
    if _CACHE.get("home") != layout.home or "instance" not in _CACHE:
        open_state(layout)
        try:
            with file_lock(layout.lock_file("dagster")):
                created = dg.DagsterInstance.get()
                recovery.reap(created, str(layout.home))
                migrate_variant_keys(layout, created)
        except Exception as error:
            failure = state_failure(error, layout.home)
            if failure is None:
                raise
            raise failure from error
        _CACHE.clear()
        _CACHE.update(home=layout.home, instance=created)
    return _CACHE["instance"]


def _root_cause(error) -> str:
    """The user-facing message at the bottom of Dagster's error chain."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def execute(layout: StateLayout, job, run_config: dict | None = None,
            partition_key: str | None = None, partition_range: tuple[str, str] | None = None,
            assets: list[str] | None = None, tags: dict[str, str] | None = None):
    """Run a job of the code location in process; raise :class:`RunFailed` with the root causes on failure.

    The run carries this process's token (``avgzsl/process``), so that a later command
    can tell it is dead if this process is killed.  Ctrl-C while the run waits for a
    pool slot ends it as ``KeyboardInterrupt``; a storage failure (a full disk) is a
    :class:`StateError` naming the state folder.
    """
    tags = {**(tags or {}), **(range_tags(*partition_range) if partition_range else {}), **recovery.owner_tags()}
    home = layout.home
    pools.install()
    try:
        result = defs.resolve_job_def(job.name).execute_in_process(
            run_config=run_config or {}, instance=instance(layout), partition_key=partition_key, tags=tags,
            asset_selection=[dg.AssetKey(a) for a in assets] if assets else None, raise_on_error=False)
    except Exception as error:
        failure = state_failure(error, home)
        if failure is None:
            raise
        raise failure from error
    failures = [e.event_specific_data.error for e in result.all_events
                if e.is_step_failure and e.event_specific_data and e.event_specific_data.error]
    if pools.interrupted() or any(error.cls_name in INTERRUPTS for error in failures):
        raise KeyboardInterrupt
    if not result.success:
        errors = [_root_cause(error) for error in failures]
        full = [cause for cause in errors if storage_cause(cause, home) == "no space left on device"]
        if full:
            raise StateError(f"{home}: no space left on device ({full[0].splitlines()[0]}); free some space and "
                             "rerun (finished work is kept)")
        raise RunFailed(result.run_id, errors)
    return result


def ensure_partitions(layout: StateLayout, name: str, keys: list[str]) -> None:
    """Register dynamic partition keys that are not registered yet (under the lock: concurrent commands add once)."""
    store = instance(layout)
    with file_lock(layout.lock_file("dagster")):
        new = [k for k in dict.fromkeys(keys) if not store.has_dynamic_partition(name, k)]
        if new:
            store.add_dynamic_partitions(name, new)


def asset_graph():
    return defs.resolve_asset_graph()


def select_shards(keys: list[str], shards: str | None) -> list[str]:
    """``a..b`` (inclusive shard numbers) or ``a`` picks shards; None picks all."""
    bounds = parse_shard_range(shards)
    if bounds is None:
        return keys
    picked = [k for k in keys if bounds[0] <= parse_shard_key(k)[1] <= bounds[1]]
    if not picked:
        raise OptionError(f"--shards {shards}: no such shards (this dataset has {keys[0]}..{keys[-1]})")
    return picked


def asset_metadata(result, asset: str) -> dict:
    """Plain values of an asset's materialization metadata in this run."""
    out = {}
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        if mat.asset_key == dg.AssetKey(asset):
            for key, value in mat.metadata.items():
                raw = getattr(value, "value", value)
                out[key] = raw if isinstance(raw, (int, float, str, bool, list, dict)) or raw is None else str(raw)
    return out
