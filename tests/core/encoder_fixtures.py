"""Tiny, offline encoder builders for tests (no network, no downloaded weights).

Use from any test (this is not a conftest; import what you need)::

    from encoder_fixtures import fake_hf_hub, tiny_visual_spec, tiny_audio_spec  # noqa: F401
    # or: from tests.core.encoder_fixtures import ...

    def test_x(fake_hf_hub):           # session fixture: builds the fake hub cache once and
        enc = build_audio_encoder(tiny_audio_spec())   # points HF_HUB_CACHE at it, offline

Outside pytest::

    hub = fake_hf_cache(tmp / "hub")
    restore = configure_offline_hf_env(hub)   # sets HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1,
    ...                                        # HF_HUB_CACHE=hub (also patches huggingface_hub
    restore()                                  # if already imported); returns an undo function

What the fake cache holds (built at run time, nothing binary is committed):
``roberta-base`` and ``facebook/bart-base`` byte-level BPE tokenizers (all 256
byte symbols + a few merges, 265 tokens), a ``roberta-base`` ``config.json`` for
a 1-layer RobertaModel with hidden size 768 (laion_clap hard-codes 768) plus its
weights saved with ``save_pretrained`` (so plain ``laion_clap.CLAP_Module`` also
builds), and a ``bert-base-uncased`` WordPiece vocab (laion_clap loads all three
tokenizers at import). Layout: ``models--<org>--<name>/refs/main`` holding the
revision and ``snapshots/<revision>/<files>``, as huggingface_hub expects.

Tiny encoders: :func:`tiny_visual_spec` registers a 1-layer ViT (32 px, width
32) under :data:`TINY_OPEN_CLIP_MODEL`; :func:`tiny_audio_spec` is the real
HTSAT-tiny audio tower (laion_clap offers nothing smaller) with random weights;
building it takes ~4 s, a forward ~0.2 s per 10 s clip on 2 cores.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from avgzsl.encoders.clap import AudioEncoderSpec
from avgzsl.encoders.clip import VisualEncoderSpec, register_model_config
from avgzsl.encoders.hf_offline import apply_hub_env
from avgzsl.encoders.standin_hub import build_standin_hub as fake_hf_cache  # noqa: F401

TINY_OPEN_CLIP_MODEL = "avgzsl-tiny-ViT"
TINY_OPEN_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
def configure_offline_hf_env(hub_cache: str | Path):
    """Point the HF cache at ``hub_cache`` and force offline mode. Returns an undo function."""
    return apply_hub_env(offline=True, hub_cache=str(hub_cache))


def tiny_visual_spec(**overrides) -> VisualEncoderSpec:
    """A ~2 M-parameter random open_clip model (32x32 input, 32-d embeddings)."""
    register_model_config(TINY_OPEN_CLIP_MODEL, TINY_OPEN_CLIP_CONFIG)
    kwargs = dict(model_name=TINY_OPEN_CLIP_MODEL, weights="random", device="cpu", batch_size=8)
    kwargs.update(overrides)
    return VisualEncoderSpec(**kwargs)


def tiny_audio_spec(**overrides) -> AudioEncoderSpec:
    """Random HTSAT-tiny + 1-layer text branch; needs the fake cache (see :func:`fake_hf_hub`)."""
    kwargs = dict(weights="random", device="cpu", batch_size=4)
    kwargs.update(overrides)
    return AudioEncoderSpec(**kwargs)


_SESSION_CACHE: dict[str, Path] = {}


@pytest.fixture(scope="session")
def fake_hf_hub(tmp_path_factory):
    """Session fixture: fake hub cache + offline env for the whole session (restored after)."""
    if "hub" not in _SESSION_CACHE:
        _SESSION_CACHE["hub"] = fake_hf_cache(tmp_path_factory.mktemp("fake_hf_hub"))
    restore = configure_offline_hf_env(_SESSION_CACHE["hub"])
    try:
        yield _SESSION_CACHE["hub"]
    finally:
        restore()
