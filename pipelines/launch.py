"""Execute jobs of the code location in the project's persistent instance (the CLI's entry point to Dagster)."""
from __future__ import annotations

import dagster as dg

from avgzsl.data.datasets import parse_shard_key
from avgzsl.errors import OptionError, RunFailed
from pipelines.definitions import defs
from pipelines.run_config import range_tags


def _root_cause(error) -> str:
    """The user-facing message at the bottom of Dagster's error chain."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def execute(job, run_config: dict | None = None,
            partition_key: str | None = None, partition_range: tuple[str, str] | None = None,
            assets: list[str] | None = None, tags: dict[str, str] | None = None):
    """Run a job of the code location in process; raise :class:`RunFailed` with the root causes on failure."""
    tags = {**(tags or {}), **(range_tags(*partition_range) if partition_range else {})}
    result = defs.resolve_job_def(job.name).execute_in_process(
        run_config=run_config or {}, instance=dg.DagsterInstance.get(), partition_key=partition_key, tags=tags,
        asset_selection=[dg.AssetKey(a) for a in assets] if assets else None, raise_on_error=False)
    if not result.success:
        errors = [_root_cause(e.event_specific_data.error) for e in result.all_events
                  if e.is_step_failure and e.event_specific_data and e.event_specific_data.error]
        raise RunFailed(result.run_id, errors)
    return result


def ensure_partitions(name: str, keys: list[str]) -> None:
    """Register dynamic partition keys that are not registered yet."""
    instance = dg.DagsterInstance.get()
    new = [k for k in dict.fromkeys(keys) if not instance.has_dynamic_partition(name, k)]
    if new:
        instance.add_dynamic_partitions(name, new)


def asset_graph():
    return defs.resolve_asset_graph()


def select_shards(keys: list[str], shards: str | None) -> list[str]:
    """``a..b`` (inclusive shard numbers) or ``a`` picks shards; None picks all."""
    if not shards:
        return keys
    first, _, last = shards.partition("..")
    try:
        lo, hi = int(first), int(last or first)
    except ValueError:
        raise OptionError(f"--shards {shards!r}: expected 'a..b' or 'a' (shard numbers)") from None
    picked = [k for k in keys if lo <= parse_shard_key(k)[1] <= hi]
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
                out[key] = raw if isinstance(raw, (int, float, str, bool)) or raw is None else str(raw)
    return out
