"""Dagster runs in process against the test's instance, and what they did.

A dataset's manifest, what the daemon does with a request; a run's materialization
metadata as plain values, its asset check evaluations, the root causes of its failures.
"""
from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest


def add_partitions(name: str, keys: list[str]) -> None:
    instance = dg.DagsterInstance.get()
    new = [k for k in keys if not instance.has_dynamic_partition(name, k)]
    if new:
        instance.add_dynamic_partitions(name, new)


def materialize_manifest(folder: Path, name: str = "demo") -> dg.ExecuteInProcessResult:
    """video_manifest for a custom dataset folder (registers its dataset and shard partitions)."""
    from assets.media import video_manifest
    from resources import StateResource

    add_partitions("dataset", [name])
    result = dg.materialize([video_manifest], partition_key=name, instance=dg.DagsterInstance.get(),
                            resources={"state": StateResource()},
                            run_config={"ops": {"video_manifest": {"config": {"source": str(folder)}}}})
    assert result.success
    return result


def execute_request(request: dg.RunRequest, dynamic_partitions_requests=()) -> dg.ExecuteInProcessResult:
    """What the daemon does with a sensor's or schedule's output, in process: partitions, then the run.

    A partition range travels in the request's tags, as in a daemon-launched run.
    """
    from pipelines.definitions import defs

    instance = dg.DagsterInstance.get()
    for change in dynamic_partitions_requests:
        instance.add_dynamic_partitions(change.partitions_def_name, list(change.partition_keys))
    result = defs.resolve_job_def(request.job_name).execute_in_process(
        run_config=dict(request.run_config), instance=instance, partition_key=request.partition_key,
        tags=dict(request.tags), asset_selection=list(request.asset_selection) if request.asset_selection else None)
    assert result.success
    return result


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    """Plain values of ``asset``'s (last) materialization metadata in the run."""
    out = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key == dg.AssetKey(asset):
            out = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
    return out


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    """``asset:check`` → the evaluation of each asset check the run executed."""
    return {f"{e.asset_key.to_user_string()}:{e.check_name}": e for e in result.get_asset_check_evaluations()}


def failures(result: dg.ExecuteInProcessResult) -> str:
    """The error messages (with their causes) of the run's failed steps, as one string."""
    messages = []
    for event in result.all_events:
        if event.is_step_failure and event.event_specific_data and event.event_specific_data.error:
            error = event.event_specific_data.error
            while error is not None:
                messages.append(error.message)
                error = error.cause
    return "\n".join(messages)


def materialize_run(spec, assets: list, raise_on_error: bool = False) -> dg.ExecuteInProcessResult:
    """Training/evaluation assets of one run partition (dataset × variant) of ``spec``, on the CPU, one thread."""
    from resources import MlflowResource, StateResource, TrainingResource

    add_partitions("dataset", [spec.dataset])
    add_partitions("variant", [spec.variant])
    key = dg.MultiPartitionKey({"dataset": spec.dataset, "variant": spec.variant})
    return dg.materialize(assets, partition_key=key, instance=dg.DagsterInstance.get(), raise_on_error=raise_on_error,
                          resources={"state": StateResource(), "mlflow": MlflowResource(),
                                     "training": TrainingResource(device="cpu", threads=1)})


def assert_recalls_match(metrics: dict, predictions: pl.DataFrame) -> None:
    """The reported seen/unseen test recalls are the mean per-class recalls of the predictions table."""
    recall = (predictions.with_columns(hit=pl.col("true_class") == pl.col("predicted_class"))
              .group_by("split", "true_class").agg(pl.col("hit").mean()).group_by("split").agg(pl.col("hit").mean()))
    by_split = dict(zip(recall["split"], recall["hit"]))
    assert metrics["test_seen"] == pytest.approx(by_split["seen"], abs=1e-12)
    assert metrics["test_unseen"] == pytest.approx(by_split["unseen"], abs=1e-12)

