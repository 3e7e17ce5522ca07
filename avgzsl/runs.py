"""Files of one training run, and the paths of a dataset's feature tables."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from avgzsl.state import StateLayout, safe_name

FEATURE_SOURCES = ("published", "extracted")


def feature_tables(layout: StateLayout, dataset: str, source: str = "published") -> tuple[Path, Path]:
    """(features.parquet, classes.parquet) of a dataset's feature source."""
    if source not in FEATURE_SOURCES:
        raise ValueError(f"features must be one of {FEATURE_SOURCES}, got {source!r}")
    root = layout.dataset_dir(dataset) / source
    return root / "features.parquet", root / "classes.parquet"


def run_key(settings: dict) -> str:
    """A readable, stable folder name for a training configuration."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    return safe_name(f"{settings['modality']}-{settings['text']}-{settings['text_lookup']}-s{settings['seed']}-{digest}")


@dataclass(frozen=True)
class RunFiles:
    root: Path

    @classmethod
    def of(cls, layout: StateLayout, dataset: str, settings: dict) -> "RunFiles":
        return cls(layout.runs_dir / safe_name(dataset) / run_key(settings))

    def stage_model(self, stage: int) -> Path:
        return self.root / f"stage{stage}_model.safetensors"

    def stage_summary(self, stage: int) -> Path:
        return self.root / f"stage{stage}.json"

    @property
    def report_dir(self) -> Path:
        return self.root / "report"

    def read_summary(self, stage: int) -> dict:
        path = self.stage_summary(stage)
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing: materialize clipclap_stage{stage} with the same training config first")
        return json.loads(path.read_text())
