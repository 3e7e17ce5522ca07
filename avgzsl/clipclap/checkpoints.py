"""Model weights as safetensors files (never pickled models), with the config inside."""
from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file, save

from avgzsl.clipclap.model import ClipClap, ClipClapConfig, build_model
from avgzsl.data.store import write_bytes_atomic


def save_model(model: ClipClap, path: Path, extra: dict[str, str] | None = None) -> Path:
    """Write the state dict and the network config atomically."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"clipclap_config": json.dumps(model.config.as_dict()), **(extra or {})}
    return write_bytes_atomic(save(state, metadata=meta), Path(path))


def read_metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def load_model(path: Path, device: str = "cpu") -> ClipClap:
    """Rebuild the ClipClap network from a file written by :func:`save_model` (eval mode)."""
    meta = read_metadata(path)
    if "clipclap_config" not in meta:
        raise ValueError(f"{path}: not a ClipClap checkpoint (no clipclap_config metadata)")
    model = build_model(ClipClapConfig(**json.loads(meta["clipclap_config"])))
    model.load_state_dict(load_file(str(path), device=device))
    return model.to(device).eval()
