"""Shared types for the encoder core: metadata, errors (devices: :mod:`avgzsl.runtime`).

Nothing here imports open_clip or laion_clap; those are imported lazily by the
builders so that importing :mod:`avgzsl.encoders` stays cheap.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
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


# Spec fields that do not change an encoder's outputs.
_RUNTIME_FIELDS = ("batch_size", "trust_checkpoint")
# Spec fields that may name a local file; its size and time stand for its contents.
_FILE_FIELDS = ("model_config", "checkpoint_path", "checkpoint")
LIBRARIES = {"open_clip": ("open_clip_torch", "torch"), "laion_clap": ("laion_clap", "torch")}


def encoder_identity(spec, family: Family) -> dict[str, str]:
    """What determines an encoder's outputs, from its spec alone (no model is built).

    The spec's fields (less batch size and the pickle opt-in), the concrete device,
    local weight/config files by their contents (small ones hashed, large ones by size
    and modification time), and the libraries' versions.  Feature fingerprints hash
    this, so an unchanged shard is skipped without building the encoder; the built encoder's :class:`EncoderInfo` is what
    the feature files record.
    """
    from dataclasses import fields
    from importlib.metadata import PackageNotFoundError, version

    from avgzsl.runtime import resolve_device

    out = {f.name: str(getattr(spec, f.name)) for f in fields(spec) if f.name not in _RUNTIME_FIELDS}
    out["family"] = family
    out["device"] = resolve_device(getattr(spec, "device", "auto"))
    for name in _FILE_FIELDS:
        value = getattr(spec, name, None)
        path = Path(value).expanduser() if value else None
        if path is not None and path.is_file():
            out[name] = _file_identity(path)  # its contents, wherever it lies

    def installed(lib: str) -> str:
        try:
            return version(lib)
        except PackageNotFoundError:
            return "?"

    out["libraries"] = "; ".join(f"{lib} {installed(lib)}" for lib in LIBRARIES[family])
    return out


def _file_identity(path: Path, hash_below: int = 16 << 20) -> str:
    import hashlib

    stat = path.stat()
    if stat.st_size < hash_below:
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    return f"{stat.st_size} bytes, mtime {stat.st_mtime_ns}"


class LazyEncoder:
    """An encoder built on first :meth:`get` (once, thread-safe); its ``identity`` decides skips without building."""

    def __init__(self, identity: dict[str, str], build: Callable[[], object]):
        self.identity, self._build = identity, build
        self._encoder = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return self._encoder is not None

    def get(self):
        with self._lock:
            if self._encoder is None:
                self._encoder = self._build()
            return self._encoder
