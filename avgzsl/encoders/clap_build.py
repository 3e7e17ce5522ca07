"""Building the laion_clap CLAP model without touching the network.

Split from :mod:`avgzsl.encoders.clap` to keep modules small. Everything here
imports laion_clap lazily (through :func:`hf_offline.import_laion_clap`).
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import threading
import warnings
from difflib import get_close_matches
from pathlib import Path

from . import hf_offline
from .base import EncoderError
from .clap_config import CLAP_CHECKPOINTS, CLAP_HUB_REPO, ROBERTA_BASE_CONFIG, TEXT_REPO, TEXT_TMODEL

_BUILD_LOCK = threading.Lock()


def available_amodels() -> list[str]:
    """laion_clap's audio model configs, listed from its package data (no import)."""
    spec = importlib.util.find_spec("laion_clap")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError("laion_clap is not installed: pip install laion_clap==1.1.7")
    folder = Path(list(spec.submodule_search_locations)[0]) / "clap_module" / "model_configs"
    names = sorted(p.stem for p in folder.glob("*.json"))
    return [n for n in names if n.startswith(("HTSAT", "PANN"))]


def check_amodel(amodel: str) -> None:
    known = available_amodels()
    if amodel not in known:
        close = get_close_matches(amodel, known, n=3)
        raise EncoderError(
            f"Unknown CLAP audio model {amodel!r}. Known: {known}"
            + (f" (did you mean {close}?)" if close else "") + "."
        )


def resolve_clap_checkpoint(checkpoint: str, amodel: str, cache_dir) -> tuple[str, str]:
    """Return ``(local_path, tag)``; tag is the id or the path as given."""
    path = Path(os.path.expanduser(str(checkpoint)))
    if path.is_file():
        return str(path), str(checkpoint)
    entry = CLAP_CHECKPOINTS.get(str(checkpoint))
    if entry is None:
        raise EncoderError(
            f"CLAP checkpoint {checkpoint!r} is neither an existing file nor a known id in "
            f"{CLAP_HUB_REPO}. Known ids: {sorted(CLAP_CHECKPOINTS)}."
        )
    if entry["enable_fusion"]:
        raise EncoderError(
            f"CLAP checkpoint {checkpoint!r} is a fusion model; only enable_fusion=False is "
            f"supported (fusion crops audio randomly). Use '630k-audioset-best.pt' or '630k-best.pt'."
        )
    if entry["amodel"] != amodel:
        raise EncoderError(
            f"CLAP checkpoint {checkpoint!r} is for amodel={entry['amodel']!r}, but the spec says "
            f"amodel={amodel!r}. Set amodel={entry['amodel']!r}."
        )
    local = hf_offline.fetch_hub_file(
        CLAP_HUB_REPO, [str(checkpoint)], cache_dir,
        what=f"CLAP checkpoint {checkpoint!r}",
        local_alternative=f"pass the local file as AudioEncoderSpec(checkpoint='/path/to/{checkpoint}')",
    )
    return local, str(checkpoint)


@contextlib.contextmanager
def _offline_first():
    """Offline unless the user explicitly chose otherwise."""
    if hf_offline.offline_explicitly_set() is None:
        with hf_offline.hub_mode(offline=True):
            yield
    else:
        yield


def load_text_tokenizer():
    """roberta-base tokenizer from the hub cache, checked for the empty fallback."""
    from transformers import RobertaTokenizer

    with _offline_first():
        tok = RobertaTokenizer.from_pretrained(TEXT_REPO)
    try:
        hf_offline.check_text_tokenizer(tok, TEXT_REPO)
        return tok
    except EncoderError:
        if hf_offline.offline_explicitly_set() is not None or not hf_offline.hub_reachable():
            raise
    with hf_offline.hub_mode(offline=False):  # not cached but online: fetch it (a few MB)
        tok = RobertaTokenizer.from_pretrained(TEXT_REPO)
    hf_offline.check_text_tokenizer(tok, TEXT_REPO)
    return tok


def load_text_config():
    """roberta-base config.json from the hub cache, else the built-in copy."""
    from transformers import RobertaConfig

    path = hf_offline.cached_hub_file(TEXT_REPO, "config.json", [None])
    if path:
        return RobertaConfig.from_json_file(path), "hub-cache"
    return RobertaConfig(**ROBERTA_BASE_CONFIG), "built-in"


def create_clap_model(amodel: str, text_config, seed: int):
    """``clap_module.create_model`` with a config-only (randomly initialised) text branch.

    laion_clap calls ``RobertaModel.from_pretrained('roberta-base')``, which needs
    the full roberta-base weights from the hub. We swap in a shim that builds
    ``RobertaModel(text_config)`` instead; pretrained runs then overwrite every
    text-branch tensor from the CLAP checkpoint (strict load).
    """
    import torch

    hf_offline.import_laion_clap()
    from transformers import RobertaModel

    clap_model_module = sys.modules["clap_module.model"]
    from clap_module import create_model  # top-level name: laion_clap adds its folder to sys.path

    class _ConfigOnlyRoberta:
        @staticmethod
        def from_pretrained(name, *args, **kwargs):
            return RobertaModel(text_config)

    with _BUILD_LOCK, torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        torch.manual_seed(seed)
        original = clap_model_module.RobertaModel
        clap_model_module.RobertaModel = _ConfigOnlyRoberta
        try:
            model, model_cfg = create_model(
                amodel, TEXT_TMODEL, precision="fp32", device=torch.device("cpu"), enable_fusion=False
            )
        finally:
            clap_model_module.RobertaModel = original
    return model.eval(), model_cfg


def clap_mismatch_hint(mismatch: list[str], missing: list[str], unexpected: list[str]) -> str:
    if any("fusion_model" in k or "mel_conv" in k for k in unexpected):
        return "this is a fusion checkpoint (enable_fusion=True); only non-fusion checkpoints are supported."
    if any(m.startswith("text_branch.") for m in mismatch):
        return ("the text branch config (roberta-base config.json from the hub cache, or the "
                "built-in copy) does not match the checkpoint's text branch.")
    if any(m.startswith(("audio_branch.", "audio_projection.")) for m in mismatch + missing + unexpected):
        return "the checkpoint was trained with another audio model (amodel); check AudioEncoderSpec.amodel."
    return ""
