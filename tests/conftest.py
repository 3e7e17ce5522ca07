"""Test-wide settings and fixtures: offline hubs, no telemetry, a state folder per test, tiny encoders, tiny datasets.

Plain helper functions live in :mod:`tests.helpers`; fixtures only here and in the
``conftest.py`` of each folder.
"""
from __future__ import annotations

import os
import shutil

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
    from pipelines.state import environment, open_state

    layout = StateLayout.resolve(tmp_path / "state")
    for key, value in environment(layout).items():
        monkeypatch.setenv(key, value)  # restored after the test
    return open_state(layout)


@pytest.fixture
def instance(state_home):
    """The Dagster instance of the test's state folder (persistent: SQLite under DAGSTER_HOME)."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        yield instance


# ---------------------------------------------------------------------------------- tiny encoders
@pytest.fixture(scope="session")
def fake_hf_hub(tmp_path_factory):
    """The stand-in hub cache, and the process pointed at it offline for the whole session (restored after)."""
    from avgzsl.encoders.hf_offline import apply_hub_env
    from avgzsl.encoders.standin_hub import build_standin_hub

    hub = build_standin_hub(tmp_path_factory.mktemp("fake_hf_hub"))
    restore = apply_hub_env(offline=True, hub_cache=str(hub))
    try:
        yield hub
    finally:
        restore()


@pytest.fixture(scope="session")
def tiny_open_clip_config(tmp_path_factory):
    """The tiny open_clip architecture as ``avgzsl-tiny-ViT.json`` (a ``model_config`` / ``model_config_path``)."""
    from tests.helpers.encoders import write_tiny_open_clip_config

    return write_tiny_open_clip_config(tmp_path_factory.mktemp("open_clip_config"))


@pytest.fixture(scope="session")
def tiny_visual_spec(tiny_open_clip_config):
    """``tiny_visual_spec(**overrides)``: a VisualEncoderSpec of the tiny random open_clip model."""
    from tests.helpers.encoders import tiny_visual_spec

    return lambda **overrides: tiny_visual_spec(tiny_open_clip_config, **overrides)


# ---------------------------------------------------------------------------------- tiny datasets
@pytest.fixture(scope="session")
def tiny_authors_root(tmp_path_factory):
    """A tiny synthetic dataset in the authors' published layout (UCF-style names, 12 classes); never modified."""
    from avgzsl.data.synthetic import make_synthetic_root

    return make_synthetic_root(tmp_path_factory.mktemp("authors") / "UCF", shape="tiny", seed=3)


@pytest.fixture(scope="session")
def demo_original(tmp_path_factory):
    """The demo dataset (7 classes, 38 videos in 4 shards of up to 12), made once per session; never modified."""
    from avgzsl.data.demo import make_demo_dataset

    return make_demo_dataset(tmp_path_factory.mktemp("datasets") / "demo")


@pytest.fixture
def demo_dataset(demo_original, tmp_path):
    """A private copy of the demo dataset (its sources.csv pointing into the copy), free to edit."""
    from avgzsl.data.demo import make_demo_dataset

    dest = tmp_path / "demo"
    shutil.copytree(demo_original, dest)
    return make_demo_dataset(dest)  # keeps the copied videos, rewrites the file:// sources


@pytest.fixture(scope="session")
def trained_demo(tmp_path_factory, demo_original, tiny_open_clip_config):
    """The demo DAG trained and evaluated once per session in its own state folder (tiny random encoders, a few
    epochs; its run registered in MLflow as avgzsl-demo): a :class:`tests.helpers.predict.TrainedDemo`.
    Tests predict with it but write their own state folder (prediction work lands in its predict/ only when a
    test names its state folder with --home)."""
    from tests.helpers.predict import train_demo

    return train_demo(tmp_path_factory.mktemp("trained-demo"), demo_original, tiny_open_clip_config)
