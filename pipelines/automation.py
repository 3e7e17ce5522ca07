"""What the schedules and the sensor act on: the automation YAML and its environment overrides.

Read at every tick from ``$AVGZSL_AUTOMATION`` or ``<state folder>/automation.yaml``
(see ``deploy/automation.example.yaml``)::

    datasets: [demo, ucf]        # re-extracted by the schedules (dataset partition keys)
    watch: [/data/my-dataset]    # custom dataset folders the sensor watches
    assets: [raw_videos, media_split, visual_features, audio_features]  # shard assets requested
    weights: pretrained          # encoder weights for feature steps (pretrained | random)

``AVGZSL_REEXTRACT_DATASETS`` (comma-separated) and ``AVGZSL_WATCH`` (paths separated
by ``os.pathsep``) override ``datasets`` and ``watch``.  Pure logic: no Dagster here.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import yaml

from assets import FEATURE_ASSETS, SHARD_ASSETS
from avgzsl.data.datasets import parse_shard_key
from avgzsl.layout import StateLayout
from avgzsl.names import WEIGHTS
from pipelines.run_config import encoder_resources

CONFIG_ENV, DATASETS_ENV, WATCH_ENV = "AVGZSL_AUTOMATION", "AVGZSL_REEXTRACT_DATASETS", "AVGZSL_WATCH"


@dataclass(frozen=True)
class AutomationConfig:
    datasets: tuple[str, ...] = ()
    watch: tuple[str, ...] = ()
    assets: tuple[str, ...] = SHARD_ASSETS
    weights: str | None = None

    def run_config(self, encoders: bool) -> dict:
        """Run config of a request: the encoders' weights, when it runs encoders and weights are set."""
        resources = encoder_resources(self.weights) if encoders else {}
        return {"resources": resources} if resources else {}

    def shard_run_config(self) -> dict:
        return self.run_config(encoders=bool(set(FEATURE_ASSETS) & set(self.assets)))


def _strings(raw, key: str, source) -> tuple[str, ...]:
    value = raw.get(key) or ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{source}: '{key}' must be a list of strings")
    return tuple(value)


def load_automation(home: str | None = None) -> AutomationConfig:
    """The automation settings: the YAML file (if any), then the environment overrides."""
    path = Path(os.environ.get(CONFIG_ENV) or StateLayout.resolve(home).home / "automation.yaml")
    raw = (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}
    if not isinstance(raw, dict) or set(raw) - {"datasets", "watch", "assets", "weights"}:
        raise ValueError(f"{path}: expected a mapping with keys datasets, watch, assets, weights")
    assets = _strings(raw, "assets", path) or SHARD_ASSETS
    if set(assets) - set(SHARD_ASSETS):
        raise ValueError(f"{path}: assets must be among {', '.join(SHARD_ASSETS)}")
    datasets, watch = _strings(raw, "datasets", path), _strings(raw, "watch", path)
    if os.environ.get(DATASETS_ENV):
        datasets = tuple(d.strip() for d in os.environ[DATASETS_ENV].split(",") if d.strip())
    if os.environ.get(WATCH_ENV):
        watch = tuple(p for p in os.environ[WATCH_ENV].split(os.pathsep) if p)
    weights = raw.get("weights")
    if weights is not None and weights not in WEIGHTS:
        raise ValueError(f"{path}: weights must be one of {', '.join(WEIGHTS)}")
    return AutomationConfig(datasets, watch, tuple(a for a in SHARD_ASSETS if a in assets), weights)


def shard_ranges(all_keys: Sequence[str], wanted: Iterable[str]) -> list[tuple[str, str]]:
    """Contiguous blocks of ``wanted`` in ``all_keys`` order, as (first, last) pairs."""
    wanted, blocks, start, last = set(wanted), [], None, None
    for key in all_keys:
        if key in wanted:
            start, last = start or key, key
        elif start is not None:
            blocks.append((start, last))
            start = None
    if start is not None:
        blocks.append((start, last))
    return blocks


def dataset_shards(all_keys: Sequence[str], dataset: str) -> list[str]:
    out = []
    for key in all_keys:
        try:
            if parse_shard_key(key)[0] == dataset:
                out.append(key)
        except ValueError:
            continue
    return out
