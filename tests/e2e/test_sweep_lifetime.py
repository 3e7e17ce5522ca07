"""A sweep's processes live and die with it (pipelines/sweep.py): `kill -9` leaves no worker behind, Ctrl-C and
SIGTERM stop it and close its records, a rerun trains every unfinished variant once, and two sweeps at once never
train one variant twice.  Real sweeps in processes of their own, on tiny synthetic features, with real signals."""
from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import polars as pl
import psutil
import pytest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux (PR_SET_PDEATHSIG)")]

TRAINING = ("--modality", "audio", "--epochs", "2", "--batches-per-epoch", "20")


def sweep(home, root, out, seeds: str, parallel: int) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", "--home", str(home), "sweep", "--dataset", "ucf", "--features-root",
            str(root), "--report-dir", str(out), "--seeds", seeds, *TRAINING, "--parallel", str(parallel), "--json"]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": os.getcwd(), "AVGZSL_TORCH_THREADS": "1"}


def start(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(command, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own process group, as a command at a terminal


def finish(command: list[str]) -> dict:
    done = subprocess.run(command, env=env(), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def mlflow_runs(home) -> list[tuple[str, str]]:
    """(status, whether a sweep's parent) of every MLflow run, read as another process would."""
    db = home / "mlflow" / "mlflow.db"
    if not db.exists():
        return []
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as connection:
        try:
            return list(connection.execute(
                "SELECT status, EXISTS(SELECT 1 FROM tags WHERE tags.run_uuid = runs.run_uuid "
                "AND key = 'avgzsl.sweep') FROM runs"))
        except sqlite3.OperationalError:  # the schema is not there yet
            return []


def wait_training(home, proc: subprocess.Popen, variants: int) -> set[int]:
    """Wait until ``variants`` variants train (their MLflow runs are open); the sweep's processes then."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if sum(status == "RUNNING" and not parent for status, parent in mlflow_runs(home)) >= variants:
            return {proc.pid} | {child.pid for child in psutil.Process(proc.pid).children(recursive=True)}
        time.sleep(0.1)
    raise AssertionError(f"the sweep did not start training (exit {proc.poll()})")


def left_alive(pids: set[int], patience_s: float = 30.0) -> list[int]:
    """Those of ``pids`` still alive once they had ``patience_s`` to go."""
    deadline = time.monotonic() + patience_s
    while True:
        alive = [pid for pid in pids if psutil.pid_exists(pid)
                 and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def trainings(home) -> collections.Counter:
    """How often each variant was trained: its stage-1 materializations."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        records = instance.fetch_materializations(dg.AssetKey("clipclap_stage1"), limit=1000).records
        return collections.Counter(r.event_log_entry.dagster_event.partition.split("|")[1] for r in records)


def test_kill_9_leaves_no_worker_and_the_rerun_trains_each_variant_once(tmp_path, tiny_authors_root):
    home, out = tmp_path / "state", tmp_path / "out"
    first = start(sweep(home, tiny_authors_root, out, "1..2", 2))
    family = wait_training(home, first, 2)
    assert len(family) >= 3  # the sweep and its two workers at least
    first.kill()
    first.communicate()
    assert left_alive(family) == []  # workers, and whatever helper processes they had

    again = finish(sweep(home, tiny_authors_root, out, "1..2", 2))
    assert (again["trained"], again["skipped"], again["failed"]) == (2, 0, 0)  # none had finished
    assert sorted(trainings(home).values()) == [1, 1]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_sweep_starts_nothing_new_closes_its_records_and_exits(tmp_path, tiny_authors_root, signum):
    import dagster as dg

    home, out = tmp_path / "state", tmp_path / "out"
    first = start(sweep(home, tiny_authors_root, out, "1..3", 2))  # two variants run, one waits for a worker
    family = wait_training(home, first, 2)
    if signum == signal.SIGINT:  # Ctrl-C at a terminal: the whole foreground process group gets it
        os.killpg(first.pid, signum)
    else:  # `kill PID`, a service manager, a batch system
        first.send_signal(signum)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 130, err[-2000:]
    assert "interrupted" in err and "Traceback" not in err
    assert left_alive(family) == []
    before = trainings(home)  # a variant whose stage 1 ended before the signal counts once; the third never started
    assert set(before) <= {"audio_s1_e2_bpe20", "audio_s2_e2_bpe20"} and set(before.values()) <= {1}

    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        [backfill] = instance.get_backfills()
        assert backfill.status.value == "CANCELED"
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
        assert len(runs) == 2 and all(run.is_finished for run in runs)  # none left running
        succeeded = sum(run.is_success for run in runs)
        assert succeeded <= len(before)  # a run that ended before the signal may succeed
    statuses = mlflow_runs(home)
    assert [status for status, parent in statuses if parent] == ["KILLED"]
    children = collections.Counter(status for status, parent in statuses if not parent)
    assert sum(children.values()) == 2 and set(children) <= {"FAILED", "KILLED", "FINISHED"}
    assert children["FINISHED"] == succeeded  # a stopped variant never shows FINISHED, even between its stages

    again = finish(sweep(home, tiny_authors_root, out, "1..3", 3))
    assert again["failed"] == 0 and again["trained"] + again["skipped"] == 3
    assert again["skipped"] <= len(before)  # only a variant whose run ended before the signal can be current
    retrained = trainings(home) - before  # every unfinished variant trained once more, none twice
    assert set(retrained.values()) == {1} and len(retrained) == again["trained"]


def test_two_sweeps_at_once_over_overlapping_seeds_train_the_shared_variant_once(tmp_path, tiny_authors_root):
    home = tmp_path / "state"
    first, second = (start(sweep(home, tiny_authors_root, tmp_path / name, seeds, 1))
                     for name, seeds in (("a", "1..2"), ("b", "2..3")))
    outcomes = [proc.communicate(timeout=900) for proc in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], [err[-2000:] for _, err in outcomes]
    summaries = [json.loads(out.strip().splitlines()[-1]) for out, _ in outcomes]
    assert sum(s["trained"] for s in summaries) == 3 and sum(s["skipped"] for s in summaries) == 1
    assert sorted(trainings(home).values()) == [1, 1, 1]
    for name in ("a", "b"):  # each sweep's tables hold both of its variants, the shared one included
        assert pl.read_parquet(tmp_path / name / "runs.parquet").height == 2
