"""Fixtures of the end-to-end tests: the demo video dataset, copies of it, a registered manifest."""
from __future__ import annotations

import shutil

import pytest

from avgzsl.data.demo import make_demo_dataset


@pytest.fixture(scope="session")
def demo_original(tmp_path_factory):
    """The demo dataset (7 classes, 39 videos, shards of 12), made once per session; never modified."""
    return make_demo_dataset(tmp_path_factory.mktemp("e2e-datasets") / "demo")


@pytest.fixture
def demo_dataset(demo_original, tmp_path):
    """A private copy of the demo dataset (its sources.csv pointing into the copy), free to edit."""
    dest = tmp_path / "demo"
    shutil.copytree(demo_original, dest)
    return make_demo_dataset(dest)  # keeps the copied videos, rewrites the file:// sources
