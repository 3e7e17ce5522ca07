"""AVGZSL_EXECUTOR's executors by name."""
from __future__ import annotations

import dagster as dg
import pytest

from pipelines.executors import EXECUTORS, dask_executor, executor_named


def test_each_name_gives_its_executor():
    assert executor_named("in_process") is dg.in_process_executor
    assert executor_named("multiprocess") is dg.multiprocess_executor
    assert executor_named("dask") is dask_executor
    assert executor_named("k8s").name == "k8s"
    assert set(EXECUTORS) == {"in_process", "multiprocess", "dask", "k8s"}


def test_an_unknown_name_is_an_error_listing_the_choices():
    with pytest.raises(ValueError, match="AVGZSL_EXECUTOR='spark': expected one of in_process, multiprocess, dask"):
        executor_named("spark")


def test_the_dask_executors_cluster_defaults_to_a_local_one():
    field = dask_executor.config_schema.as_field().config_type.fields["cluster"]
    assert not field.is_required and field.default_value == {"local": {}}


def test_a_local_dask_clusters_dashboard_listens_on_loopback_only():
    from types import SimpleNamespace

    from distributed import LocalCluster

    executor = dask_executor.executor_creation_fn(SimpleNamespace(executor_config={"cluster": {"local": {}}}))
    with LocalCluster(**executor.cluster_configuration, n_workers=0, processes=False) as cluster:
        sockets = list(cluster.scheduler.http_server._sockets.values())
        assert sockets and {s.getsockname()[0] for s in sockets} == {"127.0.0.1"}
    asked = dask_executor.executor_creation_fn(SimpleNamespace(executor_config={
        "cluster": {"local": {"dashboard_address": "0.0.0.0:0"}}}))
    assert asked.cluster_configuration["dashboard_address"] == "0.0.0.0:0"  # the user's choice stands
