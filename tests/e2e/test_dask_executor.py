"""Shard ranges downloaded and split on Dagster's Dask executor: local clusters of two worker processes."""
from __future__ import annotations

import json
import os
import subprocess

import dagster as dg
import polars as pl
import pytest

from pipelines.run_config import RANGE_END, RANGE_START
from tests.helpers.runs import materialize_manifest
from tests.helpers.servers import BIN, REPO

pytestmark = pytest.mark.slow

CLUSTER = {"cluster": {"local": {"n_workers": 2, "threads_per_worker": 1, "processes": True,
                                 "dashboard_address": None}}}


def step_processes(instance, run_id: str) -> dict[str, int]:
    """Step key → pid of the process that ran it; checks none ran in the run's orchestrating process."""
    events = [e.dagster_event for e in instance.all_logs(run_id) if e.dagster_event]
    (orchestrator,) = {e.pid for e in events if e.event_type == dg.DagsterEventType.RUN_START}
    steps = {e.step_key: e.pid for e in events if e.is_step_start}
    assert steps and orchestrator not in steps.values()
    return steps


@pytest.mark.timeout(240)
def test_shard_ranges_run_on_dask_workers_from_the_cli_and_from_execute_job(state_home, demo_dataset):
    materialize_manifest(demo_dataset)
    instance = dg.DagsterInstance.get()
    ledgers = state_home.data_dir / "demo" / "ledgers"

    # The documented switch: every job of the code location on Dask, an asset subset of the implicit job.
    cli = subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "pipelines.definitions", "--select", "raw_videos",
         "--partition-range", "demo-0001...demo-0002", "--config-json", json.dumps({"execution": {"config": CLUSTER}})],
        cwd=REPO, env={**os.environ, "AVGZSL_EXECUTOR": "dask"}, capture_output=True, text=True, timeout=200)
    assert cli.returncode == 0, cli.stderr[-4000:]
    (first,) = instance.get_runs(dg.RunsFilter(job_name="__ASSET_JOB"))
    assert first.status == dg.DagsterRunStatus.SUCCESS
    assert list(step_processes(instance, first.run_id)) == ["raw_videos"]
    assert sorted(p.stem for p in (ledgers / "download").iterdir()) == ["demo-0001", "demo-0002"]
    assert pl.read_parquet(ledgers / "download")["status"].to_list() == ["ok"] * 24
    assert not (ledgers / "split").exists()

    # A job defined for Dask, executed from Python against the persistent instance.
    from pipelines.dask_jobs import media_on_dask

    second = dg.execute_job(dg.reconstructable(media_on_dask), instance=instance,
                            run_config={"execution": {"config": CLUSTER}},
                            tags={RANGE_START: "demo-0001", RANGE_END: "demo-0002"})
    assert second.success
    assert sorted(step_processes(instance, second.run_id)) == ["media_split", "raw_videos"]
    assert pl.read_parquet(ledgers / "download")["status"].to_list() == ["skipped"] * 24
    assert sorted(p.stem for p in (ledgers / "split").iterdir()) == ["demo-0001", "demo-0002"]
    split = pl.read_parquet(ledgers / "split")
    assert split.filter(pl.col("status") == "ok").height == 24 and split["audio_path"].null_count() < 24
    for key in ("raw_videos", "media_split"):
        assert instance.get_materialized_partitions(dg.AssetKey(key)) == {"demo-0001", "demo-0002"}
