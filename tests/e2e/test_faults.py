"""What a demanding user does to the CLI: kill -9 mid-encoding and run again, two commands at once on a fresh
state folder, grow a dataset and rerun unchanged features (subprocesses where signals or concurrency matter)."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time

import polars as pl
import pyarrow.parquet as pq
import pytest
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES, RunsFilter

from avgzsl.data.store import is_temp

pytestmark = pytest.mark.slow


def cli(*args: str, tiny: bool = True) -> list[str]:
    return [sys.executable, "-m", "tests.helpers.tiny_cli" if tiny else "pipelines.cli", *map(str, args)]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": os.getcwd()}


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_kill_9_mid_encoding_then_the_same_command_completes(state_home, demo_original):
    from pipelines.launch import instance

    command = cli("run", demo_original, "--until", "features", "--weights", "random", "-q")
    first = subprocess.Popen(command, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store, deadline = None, time.monotonic() + 300
    while time.monotonic() < deadline and first.poll() is None:  # until an encoder step holds the gpu slot
        if (state_home.dagster_home / "history").exists():
            store = store or instance(state_home)
            if store.event_log_storage.get_concurrency_info("gpu").claimed_slots:
                break
        time.sleep(0.05)
    assert first.poll() is None, "the first run ended before it encoded"
    first.kill()
    first.wait()
    assert store.get_runs(filters=RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES))  # left STARTED by the kill

    started = time.monotonic()
    again = subprocess.run([*command, "--json"], env=env(), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert time.monotonic() - started < 300  # no wait for the dead run's slot
    summary = last_json(again.stdout)
    for stream in ("visual_features", "audio_features"):
        assert summary[stream]["ok"] + summary[stream]["skipped"] == 37 and summary[stream]["failed"] == 0
    assert not store.get_runs(filters=RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES))
    assert store.event_log_storage.get_concurrency_info("gpu").claimed_slots == []
    debris = [p for p in state_home.data_dir.rglob("*") if is_temp(p)]
    assert debris == []


def test_two_reproduce_commands_at_once_on_a_fresh_state_folder_both_succeed(tmp_path, tiny_authors_root):
    home = tmp_path / "fresh"
    procs = [subprocess.Popen(cli("--home", home, "reproduce", "--dataset", "ucf", "--features-root", tiny_authors_root,
                                  "--report-dir", tmp_path / f"report-{i}", "--epochs", "1", "--batches-per-epoch", "2",
                                  "-q", tiny=False), env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(2)]
    outcomes = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-1500:] for _, err in outcomes]
    assert all((tmp_path / f"report-{i}" / "metrics.json").exists() for i in range(2))


def test_a_grown_dataset_encodes_only_its_new_shard_and_features_hold_each_video_once(state_home, demo_dataset,
                                                                                      tmp_path):
    from pipelines.commands import run_pipeline
    from tests.helpers.tiny_cli import tiny_encoder_config

    def run(until: str) -> dict:
        return run_pipeline(state_home, str(demo_dataset), until, weights="random",
                            encoders=tiny_encoder_config(tmp_path / "encoders"))

    run("features")
    rerun = run("features")
    for stream in ("visual_features", "audio_features"):  # unchanged: every shard skipped, no encoder built
        assert (rerun[stream]["shards_skipped"], rerun[stream]["ok"], rerun[stream]["skipped"]) == (4, 0, 37)
    assert {"ok", "failed", "skipped", "top_reasons"} <= set(rerun["visual_features"]) & set(rerun["download"])

    video = demo_dataset / "videos" / "0-new.mp4"  # first in id order
    video.write_bytes((demo_dataset / "videos" / "stage_1_train-amber_bell-0.mp4").read_bytes())
    with open(demo_dataset / "class-split" / "cls_split" / "stage_1_train.csv", "a") as f:
        f.write("0-new,amber bell\n")
    with open(demo_dataset / "sources.csv", "a") as f:
        f.write(f"0-new,{video.as_uri()},,\n")
    grown = run("embeddings")
    assert (grown["download"]["ok"], grown["split"]["ok"]) == (1, 1)
    # the new video fills the last shard (2 videos): only that shard is encoded again
    assert (grown["visual_features"]["shards_skipped"], grown["visual_features"]["skipped"]) == (3, 11 + 12 + 12)
    assert grown["visual_features"]["ok"] == 3
    paths = state_home.dataset("demo")
    for stream in ("visual", "audio"):
        ids = pl.concat([pl.read_parquet(p) for p in (paths.root / "features" / stream).glob("*.parquet")])["video_id"]
        assert ids.len() == ids.n_unique() == 38
    features = pq.read_table(paths.feature_tables("extracted")[0]).column("video_id").to_pylist()
    assert len(features) == len(set(features)) == 38 and "0-new" in features


def _mlflow_statuses(db) -> list[str]:
    import sqlite3

    if not db.exists():
        return []
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as connection:
        try:
            return [status for (status,) in connection.execute("SELECT status FROM runs")]
        except sqlite3.OperationalError:  # the schema is not there yet
            return []


def test_kill_9_of_reproduce_leaves_nothing_running_after_the_next_command(tmp_path, tiny_authors_root,
                                                                          monkeypatch):
    from dagster import DagsterInstance

    home = tmp_path / "state"

    def reproduce(*extra: str) -> list[str]:
        return cli("--home", home, "reproduce", "--dataset", "ucf", "--features-root", tiny_authors_root,
                   "--report-dir", tmp_path / "report", "-q", *extra, tiny=False)

    first = subprocess.Popen(reproduce("--epochs", "200", "--batches-per-epoch", "50"), env=env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db, deadline = home / "mlflow" / "mlflow.db", time.monotonic() + 300
    while "RUNNING" not in _mlflow_statuses(db) and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.2)
    assert first.poll() is None, "reproduce ended before training"
    first.kill()
    first.wait()
    assert _mlflow_statuses(db) == ["RUNNING"]

    again = subprocess.run(reproduce("--epochs", "1", "--batches-per-epoch", "2", "--seed", "1"), env=env(),
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert sorted(_mlflow_statuses(db)) == ["FINISHED", "KILLED"]
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    with DagsterInstance.get() as instance:
        assert not instance.get_runs(filters=RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES))
