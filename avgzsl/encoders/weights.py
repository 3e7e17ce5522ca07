"""Safe checkpoint loading with clear mismatch errors (shared by CLIP and CLAP)."""
from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Callable, Iterable, Mapping

from .base import EncoderError

# Checkpoint keys that old transformers versions saved as persistent buffers and
# that transformers>=4.31 no longer accepts (they are non-persistent now).
LEGACY_BUFFER_SUFFIXES = ("embeddings.position_ids",)


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).splitlines() if ln.strip()]
    useful = [ln for ln in lines if "Unsupported global" in ln or "WeightsUnpickler error" in ln]
    return ((useful or lines) or [""])[0][:300]


def load_state_dict(path: str | os.PathLike, *, what: str, trust_pickle: bool = False) -> dict:
    """Load a ``{name: tensor}`` mapping from ``path`` without executing code.

    ``.safetensors`` is read with safetensors; anything else with
    ``torch.load(weights_only=True)``, which only admits tensors and plain
    containers. If a file needs arbitrary pickled objects, loading it is refused
    unless ``trust_pickle=True`` (a pickle can run code: only for files from a
    source you trust, e.g. the official release). ``{"state_dict": ...}``
    wrappers and DistributedDataParallel ``module.`` prefixes are removed.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise EncoderError(f"{what}: checkpoint file {str(path)!r} does not exist.")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        obj = load_file(str(path), device="cpu")
    else:
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError) as exc:
            if not trust_pickle:
                raise EncoderError(
                    f"{what}: torch.load(weights_only=True) refused {str(path)!r} because it holds "
                    f"Python objects other than tensors and plain containers ({type(exc).__name__}: "
                    f"{_first_line(exc)}). Loading it would execute pickled code. If the "
                    f"file comes from a source you trust, pass --trust-checkpoint on the command line "
                    f"(trust_checkpoint=True in the encoder spec); "
                    f"or re-save it as a plain state dict: torch.save(torch.load(p, weights_only=False)"
                    f"['state_dict'], 'clean.pt')."
                ) from exc
            obj = torch.load(str(path), map_location="cpu", weights_only=False)
        except Exception as exc:
            raise EncoderError(f"{what}: cannot read checkpoint {str(path)!r}: {exc}") from exc
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not obj:
        raise EncoderError(f"{what}: {str(path)!r} does not contain a state dict (got {type(obj).__name__}).")
    state = dict(obj)
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise EncoderError(f"{what}: non-tensor entries in state dict {str(path)!r}: {bad[:5]}")
    return state


def drop_stale_buffers(model, state: dict) -> tuple[dict, list[str]]:
    """Remove checkpoint keys for buffers the model no longer persists.

    Covers ``text_branch.embeddings.position_ids`` (saved by transformers<4.31,
    rejected by newer versions) and any other non-persistent buffer.
    """
    expected = set(model.state_dict())
    non_persistent = {name for name, _ in model.named_buffers()} - expected
    dropped = [
        k for k in state
        if k not in expected and (k in non_persistent or k.endswith(LEGACY_BUFFER_SUFFIXES))
    ]
    return {k: v for k, v in state.items() if k not in dropped}, dropped


def _short(keys: Iterable[str], n: int = 6) -> str:
    keys = sorted(keys)
    more = f" ... (+{len(keys) - n} more)" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def load_into_model(
    model,
    state: dict,
    *,
    what: str,
    hint: Callable[[list[str], list[str], list[str]], str] | None = None,
) -> None:
    """Strictly load ``state`` into ``model``; on mismatch raise a precise error.

    The error names every mismatching tensor with both shapes, and the missing
    and unexpected keys; ``hint(shape_mismatch, missing, unexpected)`` may add a
    likely cause.
    """
    own = model.state_dict()
    mismatch = [
        f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in state.items()
        if k in own and tuple(v.shape) != tuple(own[k].shape)
    ]
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if mismatch or missing or unexpected:
        parts = []
        if mismatch:
            parts.append(f"shape mismatch for {len(mismatch)} tensor(s): " + "; ".join(mismatch[:6])
                         + (f" ... (+{len(mismatch) - 6} more)" if len(mismatch) > 6 else ""))
        if missing:
            parts.append(f"{len(missing)} key(s) missing from the checkpoint: {_short(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s) in the checkpoint: {_short(unexpected)}")
        extra = hint(mismatch, missing, unexpected) if hint else ""
        raise EncoderError(f"{what}: the checkpoint does not fit the model architecture: "
                           + " | ".join(parts) + (f"\nLikely cause: {extra}" if extra else ""))
    model.load_state_dict(state, strict=True)
