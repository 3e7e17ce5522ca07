"""Every path of the state folder, in one place.

The state folder is ``./.avgzsl`` in the working directory, or ``$AVGZSL_HOME``::

    dagster/                 DAGSTER_HOME: the instance (SQLite) and dagster.yaml (pipelines.state)
    mlflow/mlflow.db         the MLflow tracking store; mlflow/artifacts/ its artifacts
    models/                  encoder checkpoints fetched through the hub client
    data/<dataset>/          manifest, media store, ledgers, per-shard features,
                             published/ and extracted/ feature tables
    runs/<dataset>/<variant>/  stage models and summaries, report/ (metrics, predictions, page), predictor/
    results/<dataset>/       the paper's tables over every finished run (runs/results.parquet, html)
    predict/                 `avgzsl predict`'s media store, split ledger and features of new videos
    inbox/<dataset>/         videos for the ``predictions`` asset (classes.txt: the class names to rank)
    predictions/<dataset>/   that asset's predictions.parquet
    locks/                   lock files of first-time initialisation (see avgzsl.coordination)
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import ClassVar
from pathlib import Path

import polars as pl

from avgzsl.data.datasets import DatasetSpec, shard_key
from avgzsl.data.store import is_temp, read_parquet, write_bytes_atomic
from avgzsl.errors import StateError
from avgzsl.names import FEATURE_SOURCES

def safe_name(name: str) -> str:
    """A folder name for a user-given key: never a path, never an option."""
    clean = re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".-") or "x"
    if clean != name:
        clean = f"{clean[:48]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return clean


@dataclass(frozen=True)
class StateLayout:
    home: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike | None = None) -> "StateLayout":
        chosen = home or os.environ.get("AVGZSL_HOME") or Path.cwd() / ".avgzsl"
        return cls(Path(chosen).expanduser().resolve())

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def mlflow_dir(self) -> Path:
        return self.home / "mlflow"

    @property
    def mlflow_uri(self) -> str:
        return f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.mlflow_dir / "artifacts"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    def dataset(self, dataset: str) -> "DatasetPaths":
        return DatasetPaths(self.data_dir / safe_name(dataset))

    def dataset_runs(self, dataset: str) -> Path:
        return self.runs_dir / safe_name(dataset)

    def run(self, dataset: str, variant: str) -> "RunFiles":
        return RunFiles(self.dataset_runs(dataset) / safe_name(variant))

    def results_dir(self, dataset: str) -> Path:
        return self.home / "results" / safe_name(dataset)

    @property
    def predict_dir(self) -> Path:
        return self.home / "predict"

    def inbox(self, dataset: str) -> Path:
        return self.home / "inbox" / safe_name(dataset)

    def predictions_file(self, dataset: str) -> Path:
        """The ``predictions`` asset's table of the dataset's inbox videos."""
        return self.home / "predictions" / safe_name(dataset) / "predictions.parquet"

    def lock_file(self, name: str) -> Path:
        """The lock of one first-time initialisation (``dagster``, ``mlflow``; :func:`file_lock`) or of a claimed
        variant (``variant-<dataset>-<variant>``; :func:`avgzsl.coordination.claim`)."""
        return self.home / "locks" / f"{name}.lock"

    def prepare(self) -> "StateLayout":
        """Create the folders (the Dagster layer adds its instance config: :mod:`pipelines.state`).

        A folder that cannot be created (read-only, a file in the way, a full disk) is a
        :class:`StateError` naming it and the cause.
        """
        try:
            for d in (self.dagster_home, self.mlflow_artifacts, self.data_dir, self.runs_dir, self.models_dir):
                d.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StateError.of(error, self.home) from error
        return self


@dataclass(frozen=True)
class DatasetPaths:
    """Where one dataset's manifest, media, ledgers and features live."""

    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.parquet"

    @property
    def spec(self) -> Path:
        return self.root / "dataset.json"

    @property
    def class_split(self) -> Path:
        return self.root / "class-split"

    @property
    def media(self) -> Path:
        return self.root / "media"

    @property
    def silence(self) -> Path:
        return self.media / "silence.wav"

    def ledger(self, stage: str, shard: str) -> Path:
        return self.root / "ledgers" / stage / f"{shard}.parquet"

    def feature_shard(self, stream: str, shard: str) -> Path:
        return self.root / "features" / stream / f"{shard}.parquet"

    def feature_tables(self, source: str) -> tuple[Path, Path]:
        """(features.parquet, classes.parquet) of a feature source: published or extracted."""
        if source not in FEATURE_SOURCES:
            raise ValueError(f"features must be one of {', '.join(FEATURE_SOURCES)}; got {source!r}")
        return self.root / source / "features.parquet", self.root / source / "classes.parquet"

    def class_split_dir(self, spec: DatasetSpec) -> Path:
        return self.class_split if spec.benchmark else Path(spec.root) / "class-split"

    def read_spec(self) -> DatasetSpec:
        if not self.spec.exists():
            raise FileNotFoundError(f"{self.spec} is missing: run `avgzsl run {self.root.name} --until download` first")
        return DatasetSpec.from_json(self.spec.read_text())

    def read_manifest(self) -> pl.DataFrame:
        if not self.manifest.exists():
            raise FileNotFoundError(
                f"{self.manifest} is missing: run `avgzsl run {self.root.name} --until download` first")
        return self._manifest_frame()

    def _manifest_frame(self, columns: list[str] | None = None) -> pl.DataFrame:
        return pl.from_arrow(read_parquet(self.manifest, columns=columns))  # its page CRCs checked

    def previous_manifest(self, spec: DatasetSpec) -> pl.DataFrame | None:
        """The stored manifest, whose shard assignment a rebuilt one keeps, when cut at ``spec.shard_size``."""
        if not self.manifest.exists() or not self.spec.exists() or self.read_spec().shard_size != spec.shard_size:
            return None
        return self._manifest_frame(["video_id", "shard"])

    def drop_shards(self, keep: list[str]) -> list[Path]:
        """Delete the ledgers and feature files of shards not in ``keep`` (gone from the manifest); those deleted."""
        gone = [path for folder in (self.root / "ledgers", self.root / "features") if folder.is_dir()
                for path in folder.glob("*/*.parquet") if path.stem not in set(keep) and not is_temp(path)]
        for path in gone:
            path.unlink(missing_ok=True)
        return gone

    def shard_rows(self, shard: int) -> pl.DataFrame:
        return self.read_manifest().filter(pl.col("shard") == shard)

    def shard_keys(self, dataset: str) -> list[str]:
        shards = self._manifest_frame(["shard"])["shard"].unique().sort().to_list()
        return [shard_key(dataset, s) for s in shards]


@dataclass(frozen=True)
class ReportFiles:
    """A run's evaluation in one folder: the run's ``report/``, or the copy ``--report-dir`` receives."""

    root: Path
    NAMES: ClassVar[tuple[str, ...]] = ("metrics.json", "predictions.parquet", "report.html")

    @property
    def metrics(self) -> Path:
        return self.root / self.NAMES[0]

    @property
    def predictions(self) -> Path:
        return self.root / self.NAMES[1]

    @property
    def page(self) -> Path:
        """The report page (HTML)."""
        return self.root / self.NAMES[2]

    def read_metrics(self) -> dict:
        if not self.metrics.exists():
            raise FileNotFoundError(f"{self.metrics} is missing: the run has not been evaluated")
        return json.loads(self.metrics.read_text())

    def copy_to(self, out_dir: Path) -> "ReportFiles":
        """Copy every file into ``out_dir`` (each written atomically); the copy."""
        copy = ReportFiles(Path(out_dir))
        for name in self.NAMES:
            write_bytes_atomic((self.root / name).read_bytes(), copy.root / name)
        return copy


@dataclass(frozen=True)
class RunFiles:
    """Every file of one training run: stage models (checkpoints) and summaries, the report, the predictor."""

    root: Path

    def stage_model(self, stage: int) -> Path:
        return self.root / f"stage{stage}_model.safetensors"

    def stage_summary(self, stage: int) -> Path:
        return self.root / f"stage{stage}.json"

    @property
    def report(self) -> ReportFiles:
        return ReportFiles(self.root / "report")

    @property
    def predictor_dir(self) -> Path:
        """The run as a predictor (:mod:`avgzsl.clipclap.predictor`), written by its evaluation."""
        return self.root / "predictor"

    def summary(self, stage: int) -> dict | None:
        """The stage's summary, None before the stage finished."""
        path = self.stage_summary(stage)
        return json.loads(path.read_text()) if path.exists() else None

    def read_summary(self, stage: int) -> dict:
        path = self.stage_summary(stage)
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing: {'train' if stage == 1 else 'finish training'} the run first "
                f"(`avgzsl reproduce ...`, `avgzsl sweep ...`, or `avgzsl run DATASET --until train`)")
        return json.loads(path.read_text())

    def evaluated(self) -> bool:
        """Both stages finished and the evaluation's metrics are written."""
        return self.stage_summary(2).exists() and self.report.metrics.exists()

    def forget_evaluation(self) -> None:
        """Drop the stage-2 summary and the metrics: the run counts as finished only once it is evaluated again."""
        for path in (self.stage_summary(2), self.report.metrics):
            path.unlink(missing_ok=True)
