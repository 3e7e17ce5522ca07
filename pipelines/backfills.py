"""A sweep's Dagster backfill record: the UI's backfills page shows it, its runs and their partitions.

The CLI executes a sweep's runs itself (a bounded process pool, see :mod:`pipelines.sweep`),
so the record is created with every partition already *requested*: a running daemon
(``dagster dev``) then only tracks it (marking partitions materialized or failed from
the runs tagged with the backfill id) and never launches a run of its own.  Without a
daemon the CLI closes the record itself, as canceled when the sweep was stopped (Ctrl-C,
SIGTERM).  A backfill left open by a killed sweep is closed as canceled by the next sweep.

This uses Dagster's backfill records directly (``dagster._core``, checked with 1.13).
"""
from __future__ import annotations

import time
from collections.abc import Iterable

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset
from dagster._core.definitions.events import AssetKeyPartitionKey
from dagster._core.execution.backfill import BulkActionsFilter, BulkActionStatus, PartitionBackfill
from dagster._core.storage.tags import BACKFILL_ID_TAG
from dagster._core.utils import make_new_backfill_id

from avgzsl.coordination import pid_alive, process_token, token_alive

OWNER_TAG = "avgzsl/sweep_pid"  # the sweep process's token (host:pid:start time; a bare pid in older records)


def open_backfill(instance: dg.DagsterInstance, asset_graph, partition_keys: list[str], assets: list[dg.AssetKey],
                  title: str, tags: dict[str, str]) -> PartitionBackfill:
    """Add a backfill record whose partitions are all requested; its id tags the sweep's runs."""
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=make_new_backfill_id(), asset_graph=asset_graph, partition_names=partition_keys,
        asset_selection=assets, backfill_timestamp=time.time(), tags={**tags, OWNER_TAG: process_token()},
        dynamic_partitions_store=instance, all_partitions=False, title=title,
        description="launched by avgzsl sweep", run_config=None)
    data = backfill.asset_backfill_data
    data = data.replace_requested_subset(data.target_subset).with_requested_runs_for_target_roots(True)
    backfill = backfill.with_asset_backfill_data(data, instance, asset_graph)
    instance.add_backfill(backfill)
    return backfill


def run_tags(backfill: PartitionBackfill) -> dict[str, str]:
    return {BACKFILL_ID_TAG: backfill.backfill_id}


def close_backfill(instance: dg.DagsterInstance, asset_graph, backfill_id: str, assets: list[dg.AssetKey],
                   succeeded: Iterable[str], failed: Iterable[str], canceled: bool = False) -> None:
    """Record which partitions materialized and which failed, and end the backfill (unless a daemon did);
    ``canceled``: the sweep was stopped before every partition ended."""
    backfill = instance.get_backfill(backfill_id)
    if backfill is None or backfill.status != BulkActionStatus.REQUESTED:
        return
    failed = list(failed)

    def subset(keys: Iterable[str]) -> AssetGraphSubset:
        return AssetGraphSubset.from_asset_partition_set(
            {AssetKeyPartitionKey(a, k) for a in assets for k in keys}, asset_graph)

    data = backfill.asset_backfill_data._replace(materialized_subset=subset(succeeded),
                                                  failed_and_downstream_subset=subset(failed))
    status = (BulkActionStatus.CANCELED if canceled else
              BulkActionStatus.COMPLETED_FAILED if failed else BulkActionStatus.COMPLETED_SUCCESS)
    instance.update_backfill(backfill.with_asset_backfill_data(data, instance, asset_graph)
                             .with_status(status).with_end_timestamp(time.time()))


def cancel_orphans(instance: dg.DagsterInstance) -> list[str]:
    """Close the open backfills of sweeps whose process is gone (killed); their ids."""
    closed = []
    for backfill in instance.get_backfills(filters=BulkActionsFilter(statuses=[BulkActionStatus.REQUESTED])):
        owner = backfill.tags.get(OWNER_TAG, "")
        if owner and (token_alive(owner) if ":" in owner else pid_alive(int(owner))) is False:
            instance.update_backfill(backfill.with_status(BulkActionStatus.CANCELED).with_end_timestamp(time.time()))
            closed.append(backfill.backfill_id)
    return closed

