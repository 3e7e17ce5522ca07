"""Fixtures of the encoder tests: the tiny random encoders, built once per session."""
from __future__ import annotations

import pytest

from avgzsl.encoders import build_audio_encoder, build_visual_encoder
from tests.helpers.encoders import tiny_audio_spec


@pytest.fixture(scope="session")
def audio_encoder(fake_hf_hub):
    """Random HTSAT-tiny with the fake hub's 1-layer text branch (do not modify it)."""
    return build_audio_encoder(tiny_audio_spec())


@pytest.fixture(scope="session")
def visual_encoder(tiny_visual_spec):
    """The tiny random open_clip model, seed 0 (do not modify it)."""
    return build_visual_encoder(tiny_visual_spec())
