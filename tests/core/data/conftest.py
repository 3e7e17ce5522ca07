"""Fixtures of the data-layer tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from avgzsl.data.synthetic import make_synthetic_root


@pytest.fixture
def tiny_root(tmp_path: Path) -> Path:
    """A tiny synthetic dataset in the authors' layout (12 classes), free to edit."""
    return make_synthetic_root(tmp_path / "tiny", "tiny")
