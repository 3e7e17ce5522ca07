"""Shared types for the encoder core: metadata, errors (devices: :mod:`avgzsl.runtime`).

Nothing here imports open_clip or laion_clap; those are imported lazily by the
builders so that importing :mod:`avgzsl.encoders` stays cheap.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Literal, TypeVar

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
    spec: str = ""  # the encoder spec's identity as JSON (:func:`spec_identity`): what rebuilds this encoder

    def as_metadata(self) -> dict[str, str]:
        """Flat ``str -> str`` mapping (Parquet / Dagster metadata friendly)."""
        out: dict[str, str] = {}
        for key, value in asdict(self).items():
            out[key] = "" if value is None else str(value)
        return out


# Spec fields that say how an encoder runs, not what it computes (left out of its identity).
RUNTIME_FIELDS = ("device", "batch_size", "fp16", "trust_checkpoint")
Spec = TypeVar("Spec")


def spec_identity(spec) -> str:
    """The fields of an encoder spec that determine its embeddings, as sorted JSON (paths made absolute)."""
    out = {k: v for k, v in asdict(spec).items() if k not in RUNTIME_FIELDS}
    for key in ("model_config", "checkpoint_path"):
        if out.get(key):
            out[key] = str(Path(out[key]).expanduser().resolve())
    return json.dumps(out, sort_keys=True)


def spec_from_identity(cls: type[Spec], identity: str, **runtime) -> Spec:
    """The spec of class ``cls`` that :func:`spec_identity` recorded, with the runtime settings it has (device...)."""
    known = {f.name for f in fields(cls)}
    raw = json.loads(identity)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise EncoderError(f"recorded encoder spec has fields this avgzsl does not know: {unknown}; upgrade avgzsl")
    return replace(cls(**raw), **{k: v for k, v in runtime.items() if v is not None and k in known})


_BUILT: dict = {}


def build_once(spec, build, cache_dir=None):
    """The encoder ``build(spec, cache_dir)`` makes, kept for the process (keyed by the whole spec): built once."""
    key = (spec, str(cache_dir))
    if key not in _BUILT:
        _BUILT[key] = build(spec, cache_dir)
    return _BUILT[key]


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


# Spec fields that may name a local file; its size and time stand for its contents.
_FILE_FIELDS = ("model_config", "checkpoint_path", "checkpoint")
LIBRARIES = {"open_clip": ("open_clip_torch", "torch"), "laion_clap": ("laion_clap", "torch")}


def encoder_identity(spec, family: Family) -> dict[str, str]:
    """What determines an encoder's outputs, from its spec alone (no model is built).

    The spec's identity (:func:`spec_identity`), its precision, the concrete device,
    local weight/config files by their contents (small ones hashed, large ones by size
    and modification time), and the libraries' versions.  Feature fingerprints hash
    this, so an unchanged shard is skipped without building the encoder; the built encoder's :class:`EncoderInfo` is what
    the feature files record.
    """
    from importlib.metadata import PackageNotFoundError, version

    from avgzsl.runtime import resolve_device

    out = {k: str(v) for k, v in json.loads(spec_identity(spec)).items()}
    out["fp16"] = str(getattr(spec, "fp16", ""))  # half precision changes the outputs (CUDA only)
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
