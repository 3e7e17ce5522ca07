"""Model weights as safetensors files (never pickled models), with the method and its network config inside."""
from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file, save
from torch import nn

from avgzsl.data.store import write_bytes_atomic
from avgzsl.methods.base import Method, MethodError
from avgzsl.methods.registry import DEFAULT_METHOD, get_method

METHOD_KEY, CONFIG_KEY = "method", "method_config"
LEGACY_CONFIG_KEY = "clipclap_config"  # checkpoints written before methods existed (ClipClap only)


def save_model(model: nn.Module, path: Path, extra: dict[str, str] | None = None,
               method: Method | None = None) -> Path:
    """Write the state dict, the method's name and the network config atomically."""
    name = method.name if method else getattr(model, "method_name", DEFAULT_METHOD)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    config = json.dumps(model.config.as_dict())
    meta = {METHOD_KEY: name, CONFIG_KEY: config, **({LEGACY_CONFIG_KEY: config} if name == "clipclap" else {}),
            **(extra or {})}
    return write_bytes_atomic(save(state, metadata=meta), Path(path))


def read_metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def checkpoint_method(path: Path, meta: dict[str, str] | None = None) -> str:
    """The method a checkpoint was trained with (ClipClap for files from before methods existed)."""
    meta = read_metadata(path) if meta is None else meta
    if METHOD_KEY in meta:
        return meta[METHOD_KEY]
    if LEGACY_CONFIG_KEY in meta:
        return DEFAULT_METHOD
    raise ValueError(f"{path}: not a model checkpoint of avgzsl (no {METHOD_KEY} metadata)")


def load_model(path: Path, device: str = "cpu", method: str | None = None) -> nn.Module:
    """Rebuild the network from a file written by :func:`save_model` (eval mode).

    ``method``: the method the caller expects; a checkpoint of another method is refused.
    """
    meta = read_metadata(path)
    name = checkpoint_method(path, meta)
    if method is not None and method != name:
        raise MethodError(f"{path}: a checkpoint of method {name!r}, loaded as method {method!r}; "
                          f"use --method {name} or the run that trained it")
    found = get_method(name)
    raw = json.loads(meta.get(CONFIG_KEY) or meta[LEGACY_CONFIG_KEY])
    model = found.build(found.config_class(**raw))
    model.method_name = name
    model.load_state_dict(load_file(str(path), device=device))
    return model.to(device).eval()
