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

import json
from pathlib import Path

import pytest

from avgzsl.encoders.clap import AudioEncoderSpec
from avgzsl.encoders.clip import VisualEncoderSpec, register_model_config
from avgzsl.encoders.hf_offline import apply_hub_env

FAKE_REVISION = "0" * 40
TINY_OPEN_CLIP_MODEL = "avgzsl-tiny-ViT"
TINY_OPEN_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
TINY_ROBERTA_CONFIG = {
    "model_type": "roberta", "architectures": ["RobertaModel"], "vocab_size": 265, "hidden_size": 768,
    "num_hidden_layers": 1, "num_attention_heads": 12, "intermediate_size": 64,
    "max_position_embeddings": 96, "type_vocab_size": 1, "pad_token_id": 1, "bos_token_id": 0,
    "eos_token_id": 2, "layer_norm_eps": 1e-5, "hidden_act": "gelu",
}
_MERGES = [("Ġ", "a"), ("Ġ", "d"), ("o", "g"), ("Ġd", "og")]


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2 / RoBERTa byte -> printable unicode symbol table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def _snapshot(root: Path, repo_id: str) -> Path:
    repo = root / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(FAKE_REVISION)
    snap = repo / "snapshots" / FAKE_REVISION
    snap.mkdir(parents=True, exist_ok=True)
    return snap


def fake_hf_cache(path: str | Path, with_model_weights: bool = True) -> Path:
    """Write the fake hub cache into ``path`` (idempotent) and return it."""
    root = Path(path)
    if (root / ".complete").exists():
        return root
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for symbol in _bytes_to_unicode().values():
        vocab[symbol] = len(vocab)
    for a, b in _MERGES:
        vocab[a + b] = len(vocab)
    vocab["<mask>"] = len(vocab)
    assert len(vocab) == TINY_ROBERTA_CONFIG["vocab_size"]
    merges = "#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in _MERGES) + "\n"
    for repo_id in ("roberta-base", "facebook/bart-base"):
        snap = _snapshot(root, repo_id)
        (snap / "vocab.json").write_text(json.dumps(vocab))
        (snap / "merges.txt").write_text(merges)
        (snap / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 512}))
    snap = _snapshot(root, "roberta-base")
    if with_model_weights:
        from transformers import RobertaConfig, RobertaModel
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            RobertaModel(RobertaConfig(**TINY_ROBERTA_CONFIG)).save_pretrained(snap)
    (snap / "config.json").write_text(json.dumps(TINY_ROBERTA_CONFIG))
    words = ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "dog", "##s", "."]
    words += [c for c in "abcdefghijklmnopqrstuvwxyz0123456789" if c not in words]
    snap = _snapshot(root, "bert-base-uncased")
    (snap / "vocab.txt").write_text("\n".join(words) + "\n")
    (snap / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True, "model_max_length": 512}))
    (root / ".complete").write_text("ok")
    return root


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
