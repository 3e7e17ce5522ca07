"""A single-run shard-range backfill with the real `dagster asset materialize` CLI and the default instance."""
from __future__ import annotations

import os
import subprocess

import dagster as dg
import polars as pl
import pytest

from tests.helpers.runs import materialize_manifest
from tests.helpers.servers import BIN, REPO

pytestmark = pytest.mark.slow


@pytest.mark.timeout(240)
def test_cli_partition_range_materializes_exactly_those_shards_in_one_run(state_home, demo_dataset):
    materialize_manifest(demo_dataset)
    done = subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "pipelines.definitions",
         "--select", "raw_videos,media_split", "--partition-range", "demo-0001...demo-0002"],
        cwd=REPO, env={**os.environ, "DAGSTER_HOME": str(state_home.dagster_home)},
        capture_output=True, text=True, timeout=200)
    assert done.returncode == 0, done.stderr[-4000:]

    ledgers = state_home.data_dir / "demo" / "ledgers"
    for stage in ("download", "split"):
        assert sorted(p.stem for p in (ledgers / stage).iterdir()) == ["demo-0001", "demo-0002"]
    assert pl.read_parquet(ledgers / "download")["status"].to_list() == ["ok"] * 24

    instance = dg.DagsterInstance.get()
    runs = instance.get_runs(dg.RunsFilter(job_name="__ASSET_JOB"))
    assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.SUCCESS
    assert (runs[0].tags["dagster/asset_partition_range_start"],
            runs[0].tags["dagster/asset_partition_range_end"]) == ("demo-0001", "demo-0002")
    for key in ("raw_videos", "media_split"):
        assert instance.get_materialized_partitions(dg.AssetKey(key)) == {"demo-0001", "demo-0002"}
