"""Runs whose process is gone: failed, their pool slots freed, their MLflow runs closed; waits for a slot that
are calm, said once, healed and stoppable (pipelines/recovery.py, pipelines/pools.py)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import dagster as dg
import pytest
from dagster._core.events import EngineEventData
from dagster._core.launcher import WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
from dagster._core.storage.tags import GRPC_INFO_TAG
from dagster._core.utils import make_new_run_id

from avgzsl.coordination import process_token
from pipelines import pools, recovery
from resources.mlflow import LAST_DAGSTER_RUN_TAG as MLFLOW_LAST_RUN_TAG, OWNER_TAG as MLFLOW_OWNER_TAG, MlflowResource


@pytest.fixture(scope="module")
def dead_token() -> str:
    """The token of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    token = process_token(child.pid)
    child.kill()
    child.wait()
    return token


def fake_run(instance, token: str | None, status=DagsterRunStatus.STARTED, slot: bool = False,
             tags: dict | None = None) -> DagsterRun:
    """A run record as a run of that process leaves it; ``slot``: holding the gpu pool's slot."""
    run = DagsterRun(job_name="acquire_media", run_id=make_new_run_id(), status=status,
                     tags={**({recovery.OWNER_TAG: token} if token else {}), **(tags or {})})
    instance.add_run(run)
    if slot:
        instance.event_log_storage.initialize_concurrency_limit_to_default("gpu")
        assert instance.event_log_storage.claim_concurrency_slot("gpu", run.run_id, "visual_features").is_claimed
    return run


def status(instance, run) -> DagsterRunStatus:
    return instance.get_run_by_id(run.run_id).status


def test_reap_fails_runs_of_dead_processes_and_frees_slots_but_leaves_live_runs(instance, dead_token):
    dead = fake_run(instance, dead_token, slot=True)
    live = fake_run(instance, process_token())
    # started by Dagster's launcher (dagster dev): its worker's pid is in an engine event
    launched = fake_run(instance, None, tags={GRPC_INFO_TAG: '{"host": "localhost", "port": 4000}'})
    elsewhere = fake_run(instance, None, tags={GRPC_INFO_TAG: '{"host": "code.k8s.example", "port": 4000}'})
    dead_pid = int(dead_token.split(":")[1])
    for run in (launched, elsewhere):
        instance.report_engine_event("Started process for run", run, EngineEventData.in_process(dead_pid))
    over = fake_run(instance, process_token(), status=DagsterRunStatus.SUCCESS)
    instance.event_log_storage.claim_concurrency_slot("gpu", over.run_id, "audio_features")  # left behind

    assert sorted(recovery.reap(instance)) == sorted([dead.run_id, launched.run_id])
    assert status(instance, dead) == status(instance, launched) == DagsterRunStatus.FAILURE
    assert status(instance, live) == status(instance, elsewhere) == DagsterRunStatus.STARTED  # elsewhere: unknowable
    assert instance.event_log_storage.get_concurrency_info("gpu").claimed_slots == []
    failure = instance.all_logs(dead.run_id)[-1]
    assert "is gone (killed or crashed)" in failure.dagster_event.message
    assert recovery.reap(instance) == []


def test_the_run_launcher_tells_the_daemons_run_monitoring_whether_a_process_lives(instance, dead_token):
    launcher = instance.run_launcher  # the generated dagster.yaml configures it
    assert isinstance(launcher, recovery.LivenessRunLauncher) and launcher.supports_check_run_worker_health
    assert instance.run_monitoring_enabled
    assert launcher.check_run_worker_health(fake_run(instance, dead_token)).status == WorkerStatus.FAILED
    assert launcher.check_run_worker_health(fake_run(instance, process_token())).status == WorkerStatus.RUNNING
    assert launcher.check_run_worker_health(fake_run(instance, None)).status == WorkerStatus.RUNNING  # not known yet


def test_mlflow_runs_left_running_by_dead_processes_are_closed_as_killed(state_home, dead_token):
    tracking = MlflowResource.of(state_home)
    client = tracking.client().MlflowClient()
    experiment = tracking.experiment_id("demo")
    runs = {name: client.create_run(experiment, tags=tags).info.run_id for name, tags in {
        "dead": {MLFLOW_OWNER_TAG: dead_token}, "live": {MLFLOW_OWNER_TAG: process_token()},
        "of_a_reaped_dagster_run": {"dagster.run_id": "abc"},
        "stopped_between_stages": {"dagster.run_id": "def"}, "of_a_run_that_ended": {"dagster.run_id": "ghi"},
        "failed": {"dagster.run_id": "abc"}, "stopped_once_evaluated": {"dagster.run_id": "def"}}.items()}
    client.log_metric(runs["stopped_once_evaluated"], "test_hm", 0.5)
    for name in ("stopped_between_stages", "of_a_run_that_ended", "stopped_once_evaluated"):  # a stage closed it
        client.set_terminated(runs[name], status="FINISHED")
    client.set_terminated(runs["failed"], status="FAILED")
    assert sorted(tracking.close_dead_runs(["abc", "def", "x' OR 1=1 --"])) == sorted(
        [runs["dead"], runs["of_a_reaped_dagster_run"], runs["stopped_between_stages"]])
    assert {name: client.get_run(run_id).info.status for name, run_id in runs.items()} == {
        "dead": "KILLED", "live": "RUNNING", "of_a_reaped_dagster_run": "KILLED", "stopped_between_stages": "KILLED",
        "of_a_run_that_ended": "FINISHED", "failed": "FAILED", "stopped_once_evaluated": "FINISHED"}
    # a sweep's variant that failed after stage 1 (its Dagster run "ghi"): FAILED, not stage 1's FINISHED
    assert tracking.close_dead_runs(["ghi"], "FAILED") == [runs["of_a_run_that_ended"]]
    assert client.get_run(runs["of_a_run_that_ended"]).info.status == "FAILED"
    # stage 2 launched on its own (Dagster run "jkl") re-opened a run, then stopped: found by that run too
    reopened = client.create_run(experiment, tags={"dagster.run_id": "mno", MLFLOW_LAST_RUN_TAG: "jkl"}).info.run_id
    client.set_terminated(reopened, status="FINISHED")
    assert tracking.close_dead_runs(["jkl"]) == [reopened]


def test_a_run_waiting_on_a_dead_holders_slot_frees_it_and_runs(instance, dead_token):
    from tests.helpers.pool_wait import on_the_gpu

    holder = fake_run(instance, dead_token, slot=True)
    pools.install()
    started = time.monotonic()
    assert dg.materialize([on_the_gpu], instance=instance).success
    assert time.monotonic() - started < 30
    assert status(instance, holder) == DagsterRunStatus.FAILURE


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_run_waiting_on_a_live_holder_says_so_once_sleeps_and_stops_on_ctrl_c(instance, state_home):
    holder = fake_run(instance, process_token(), slot=True)  # this test process: alive
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    waiting = subprocess.Popen([sys.executable, "-m", "tests.helpers.pool_wait"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while not any("waiting for pool 'gpu'" in line for line in lines) and time.monotonic() < deadline:
            lines.append(waiting.stderr.readline())
        said = next(line for line in lines if "waiting for pool 'gpu'" in line)
        assert f"held by run {holder.run_id[:8]}" in said and "Ctrl-C stops waiting" in said
        before = _cpu_seconds(waiting.pid)
        time.sleep(3)
        assert _cpu_seconds(waiting.pid) - before < 1.0  # it sleeps (Dagster's own wait spins a whole core)
        waiting.send_signal(signal.SIGINT)
        out, err = waiting.communicate(timeout=20)
    finally:
        waiting.kill()
    assert waiting.returncode == 130
    assert "waiting for pool" not in err  # said once
    run_id = out.split("run ")[-1].strip()
    assert status(instance, instance.get_run_by_id(run_id)) == DagsterRunStatus.FAILURE
    assert instance.event_log_storage.get_concurrency_info("gpu").active_run_ids == {holder.run_id}
