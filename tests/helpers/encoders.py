"""Tiny, offline encoder specs for tests (no network, no downloaded weights).

The fixtures that go with them are in ``tests/conftest.py``: ``fake_hf_hub`` (session:
the stand-in hub cache of :mod:`avgzsl.encoders.standin_hub`, with the process pointed
at it offline) and ``tiny_open_clip_config`` (session: the tiny architecture below
written as ``<model name>.json``, for ``VisualEncoderSpec(model_config=...)`` and
``VisualEncoderResource(model_config_path=...)``).

Tiny encoders: :func:`tiny_visual_spec` is a 1-layer ViT (32 px, width 32) named
:data:`TINY_OPEN_CLIP_MODEL`; :func:`tiny_audio_spec` is the real HTSAT-tiny audio
tower (laion_clap offers nothing smaller) with random weights and a 1-layer text
branch from the fake hub; building it takes ~4 s, a forward ~0.2 s per 10 s clip on
2 cores.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from avgzsl.encoders.clap import AudioEncoderSpec
from avgzsl.encoders.clip import VisualEncoderSpec

TINY_OPEN_CLIP_MODEL = "avgzsl-tiny-ViT"
TINY_OPEN_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def write_tiny_open_clip_config(folder: Path) -> Path:
    """The tiny architecture as an open_clip config file (its stem is the model name)."""
    path = Path(folder) / f"{TINY_OPEN_CLIP_MODEL}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(TINY_OPEN_CLIP_CONFIG))
    return path


def tiny_visual_spec(model_config: Path, **overrides) -> VisualEncoderSpec:
    """A ~2 M-parameter random open_clip model (32x32 input, 32-d embeddings)."""
    kwargs = dict(model_name=TINY_OPEN_CLIP_MODEL, model_config=str(model_config), weights="random",
                  device="cpu", batch_size=8)
    kwargs.update(overrides)
    return VisualEncoderSpec(**kwargs)


def tiny_audio_spec(**overrides) -> AudioEncoderSpec:
    """Random HTSAT-tiny + 1-layer text branch; needs the fake hub cache (the ``fake_hf_hub`` fixture)."""
    kwargs = dict(weights="random", device="cpu", batch_size=4)
    kwargs.update(overrides)
    return AudioEncoderSpec(**kwargs)

def assert_unit_rows(matrix: np.ndarray, shape: tuple[int, int]) -> None:
    """An encoder's output: float32 rows of unit length, of this shape."""
    assert matrix.shape == shape and matrix.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1, atol=1e-5)

