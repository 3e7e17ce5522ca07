"""Shared types for the encoder core: metadata, errors (devices: :mod:`avgzsl.runtime`).

Nothing here imports open_clip or laion_clap; those are imported lazily by the
builders so that importing :mod:`avgzsl.encoders` stays cheap.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from avgzsl.errors import UserError
from avgzsl.names import WEIGHTS

Family = Literal["open_clip", "laion_clap"]
Weights = Literal["pretrained", "random"]


class EncoderError(UserError, RuntimeError):
    """A clear, user-facing failure while building or running an encoder.

    The message always says what went wrong and how to fix it.
    """


@dataclass(frozen=True)
class EncoderInfo:
    """What produced a set of embeddings (stored next to the features)."""

    family: Family
    model_name: str
    weights: Weights
    weights_tag: str  # pretrained tag, checkpoint id, local path, or "seed=<n>" for random
    embed_dim: int
    sample_rate: int | None  # audio encoders only
    device: str
    dtype: str
    library_version: str = ""
    preprocessing: str = ""  # short human-readable description of the input pipeline

    def as_metadata(self) -> dict[str, str]:
        """Flat ``str -> str`` mapping (Parquet / Dagster metadata friendly)."""
        out: dict[str, str] = {}
        for key, value in asdict(self).items():
            out[key] = "" if value is None else str(value)
        return out


def check_weights_choice(weights: str) -> None:
    if weights not in WEIGHTS:
        raise EncoderError(f"weights={weights!r}: expected one of {WEIGHTS}.")


def l2_normalize(x: np.ndarray, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    """Row-wise L2 normalisation (float32 output)."""
    x = np.asarray(x, dtype=np.float64)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return (x / np.maximum(norm, eps)).astype(np.float32)


def chunks(n: int, size: int):
    """Yield ``slice`` objects covering ``range(n)`` in steps of ``size``."""
    if size <= 0:
        raise EncoderError(f"batch_size must be positive, got {size}.")
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))
