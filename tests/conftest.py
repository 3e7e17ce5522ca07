"""Test-wide settings: offline hubs, no telemetry, and a state folder per test."""
from __future__ import annotations

import os

import pytest

# Before anything imports laion_clap / transformers / open_clip / mlflow.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")


@pytest.fixture
def state_home(tmp_path, monkeypatch):
    """A fresh state folder (Dagster home + MLflow SQLite store) for one test."""
    from avgzsl.layout import StateLayout

    home = tmp_path / "state"
    monkeypatch.setenv("AVGZSL_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    return StateLayout.resolve(home).prepare()
