"""A new variant launched with the real `dagster asset materialize` CLI: no registration by hand, a clear
error for a malformed key, a relaunch skipped, and gzsl_results asked for by its automation condition."""
from __future__ import annotations

import os
import subprocess
import time

import dagster as dg
import mlflow
import pytest

from avgzsl.experiments.spec import RunSpec
from tests.assets.conftest import published_ucf  # noqa: F401 (a fixture)
from tests.helpers.servers import BIN, REPO

pytestmark = pytest.mark.slow
RUN_ASSETS = "clipclap_stage1,clipclap_stage2,gzsl_evaluation"


def materialize(state_home, key: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "pipelines.definitions", "--select", RUN_ASSETS,
         "--partition", key],
        cwd=REPO, capture_output=True, text=True, timeout=400,
        env={**os.environ, "DAGSTER_HOME": str(state_home.dagster_home), "AVGZSL_HOME": str(state_home.home),
             "AVGZSL_TORCH_THREADS": "1", "PYTHONPATH": str(REPO)})


def error_line(done: subprocess.CompletedProcess) -> str:
    return [line for line in done.stderr.splitlines() if line.startswith("Error: ")][-1]


@pytest.mark.timeout(600)
def test_a_new_variant_launches_from_the_dagster_cli_once(published_ucf, state_home, instance):
    spec = RunSpec(dataset="ucf", seed=5, epochs=1, batches_per_epoch=3, batch_size=16)
    key = f"ucf|{spec.variant}"
    assert spec.variant not in instance.get_dynamic_partitions("variant")

    # Malformed keys fail before any run, naming the expected format (not Dagster's subset error).
    done = materialize(state_home, spec.variant)
    assert done.returncode == 1 and error_line(done).startswith(f"Error: partition key {spec.variant!r}: expected "
                                                                "<dataset>|<variant>")
    done = materialize(state_home, "ucf|published_visual_both_name_s5")  # the earlier key format
    assert error_line(done) == "Error: partition key 'ucf|published_visual_both_name_s5': this run's key is ucf|visual_s5"
    assert not instance.get_runs(dg.RunsFilter(job_name="__ASSET_JOB"))

    before = dg.evaluate_automation_conditions(defs=_defs(), instance=instance)
    done = materialize(state_home, key)
    assert done.returncode == 0, done.stderr[-4000:]
    assert spec.variant in instance.get_dynamic_partitions("variant")  # registered by the run itself
    assert state_home.run("ucf", spec.variant).report.metrics.is_file()
    evaluated = instance.get_latest_materialization_event(dg.AssetKey("gzsl_evaluation"))
    assert evaluated.dagster_event.partition == key

    # gzsl_results is requested for the dataset after the evaluation (what the daemon's sensor launches).
    after = dg.evaluate_automation_conditions(defs=_defs(), instance=instance, cursor=before.cursor)
    requested = after.get_requested_partitions(dg.AssetKey("gzsl_results"))
    assert requested == {"ucf"}

    # A relaunch of the unchanged partition is skipped: no second MLflow run, no second model version.
    done = materialize(state_home, key)
    assert done.returncode == 0, done.stderr[-4000:]
    mlflow.set_tracking_uri(state_home.mlflow_uri)
    client = mlflow.MlflowClient()
    runs = client.search_runs([client.get_experiment_by_name("avgzsl-ucf").experiment_id])
    assert len(runs) == 1
    assert len(client.search_model_versions("name='avgzsl-ucf'")) == 1
    skipped = instance.get_latest_materialization_event(dg.AssetKey("clipclap_stage1"))
    assert "current" in skipped.asset_materialization.metadata["skipped"].value


def _defs():
    from pipelines.definitions import defs

    return defs


@pytest.mark.timeout(600)
def test_a_new_variant_launched_through_graphql_trains_and_refreshes_the_results(published_ucf, state_home, tmp_path):
    from dagster_graphql import DagsterGraphQLClient

    from tests.helpers.servers import free_port, server, wait_http

    spec = RunSpec(dataset="ucf", seed=6, epochs=1, batches_per_epoch=3, batch_size=16)
    port, log = free_port(), tmp_path / "dagster-dev.log"
    env = {"DAGSTER_HOME": str(state_home.dagster_home), "AVGZSL_HOME": str(state_home.home),
           "AVGZSL_TORCH_THREADS": "1", "PYTHONPATH": str(REPO)}
    with server([str(BIN / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port), "-m", "pipelines.definitions"],
                log, env=env) as proc:
        wait_http(f"http://127.0.0.1:{port}/server_info", proc, log, timeout=240)
        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        run_id = client.submit_job_execution("train_variant", tags={
            "dagster/partition": f"ucf|{spec.variant}", "dagster/partition/dataset": "ucf",
            "dagster/partition/variant": spec.variant})
        instance = dg.DagsterInstance.get()
        refreshed, status = None, None
        for _ in range(200):  # the run, then the daemon's results_automation sensor requests gzsl_results
            refreshed = instance.get_latest_materialization_event(dg.AssetKey("gzsl_results"))
            status = client.get_run_status(run_id).value
            if refreshed is not None or status in ("FAILURE", "CANCELED"):
                break
            time.sleep(2)
    assert status == "SUCCESS", log.read_text()[-4000:]
    assert spec.variant in instance.get_dynamic_partitions("variant")
    assert refreshed is not None and refreshed.dagster_event.partition == "ucf", log.read_text()[-4000:]
