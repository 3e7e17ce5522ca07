"""Model weights as safetensors files (never pickled models), with the config inside."""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save

from avgzsl.clipclap.model import ClipClap, ClipClapConfig, build_model
from avgzsl.data.store import write_bytes_atomic
from avgzsl.data.validate import DataError

REWRITE_HINT = "rerun the stage that wrote it (avgzsl doctor lists what a rerun redoes)"


@contextlib.contextmanager
def named_damage(path: Path, hint: str = REWRITE_HINT):
    """A safetensors file that cannot be read becomes one :class:`DataError` naming it and the fix."""
    try:
        yield
    except (SafetensorError, OSError, ValueError, RuntimeError, json.JSONDecodeError) as error:
        if isinstance(error, DataError):
            raise
        if isinstance(error, FileNotFoundError):
            raise DataError(f"{path}: missing; {hint}") from error
        why = (str(error).splitlines() or [type(error).__name__])[0][:200]
        raise DataError(f"{path}: damaged safetensors file ({why}); {hint}") from error


def save_model(model: ClipClap, path: Path, extra: dict[str, str] | None = None) -> Path:
    """Write the state dict and the network config atomically."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"clipclap_config": json.dumps(model.config.as_dict()), **(extra or {})}
    return write_bytes_atomic(save(state, metadata=meta), Path(path))


def read_metadata(path: Path, hint: str = REWRITE_HINT) -> dict[str, str]:
    from safetensors import safe_open

    with named_damage(path, hint), safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def load_model(path: Path, device: str = "cpu", hint: str = REWRITE_HINT) -> ClipClap:
    """Rebuild the ClipClap network from a file written by :func:`save_model` (eval mode); a damaged file is a
    :class:`DataError` naming it and ``hint`` (what to do)."""
    with named_damage(path, hint):
        meta = read_metadata(path, hint)
        if "clipclap_config" not in meta:
            raise DataError(f"{path}: not a ClipClap checkpoint (no clipclap_config metadata); {hint}")
        model = build_model(ClipClapConfig(**json.loads(meta["clipclap_config"])))
        model.load_state_dict(load_file(str(path), device=device))
    return model.to(device).eval()
