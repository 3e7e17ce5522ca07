"""Fingerprints of a feature file's inputs: an unchanged shard is skipped, a changed one recomputed.

A fingerprint hashes the encoder's identity (its spec: model, weights, device,
library versions; see :func:`avgzsl.encoders.base.encoder_identity`) and the items it
encodes (ids and input hashes); it is stored in the Parquet file's schema metadata,
so checking it reads no rows and builds no encoder.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from avgzsl.data.store import file_metadata

FINGERPRINT_KEY = "avgzsl.clipclap.inputs"


def fingerprint(encoder_meta: dict, items: list) -> str:
    h = hashlib.sha256(json.dumps(encoder_meta, sort_keys=True).encode())
    h.update(json.dumps(items, sort_keys=True, default=str).encode())
    return h.hexdigest()


def stored_fingerprint(path: Path) -> str | None:
    if not path.exists():
        return None
    return file_metadata(path).get(FINGERPRINT_KEY) or None
