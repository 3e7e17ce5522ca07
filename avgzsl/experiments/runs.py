"""Training runs on disk: their inputs, whether they are current, and their results.

A run (one :class:`RunSpec`) lives in ``runs/<dataset>/<variant>/`` of the state
folder.  It is *current* when its evaluation finished and its stage-1 summary records
the same digest of the feature tables as the tables now hold; a sweep skips current
runs and trains the rest.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from avgzsl.clipclap.inputs import ProtocolData, build_protocol_data
from avgzsl.clipclap.predictor import FORMAT, PREDICTOR_FILE, Predictor, PredictError
from avgzsl.data.store import read_features
from avgzsl.experiments.results import run_row
from avgzsl.experiments.spec import SPEC_FIELDS, RunSpec, SpecError
from avgzsl.layout import ReportFiles, RunFiles, StateLayout


def feature_tables(layout: StateLayout, spec: RunSpec) -> tuple[Path, Path]:
    """(features.parquet, classes.parquet) the run trains on; FileNotFoundError names a missing one."""
    paths = layout.dataset(spec.dataset).feature_tables(spec.features)
    for path in paths:
        if not path.exists():
            action = (f"import the published features first: `avgzsl reproduce --dataset {spec.dataset} "
                      f"--features-root ROOT ...` or `avgzsl sweep --dataset {spec.dataset} --features-root ROOT ...`"
                      if spec.features == "published" else
                      f"extract the features first: `avgzsl run {spec.dataset} --until embeddings`")
            raise FileNotFoundError(f"{path} does not exist: {action}")
    return paths


def inputs_digest(paths: tuple[Path, ...]) -> str:
    """sha256 over the feature tables' bytes: a run is redone when they change."""
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
    return h.hexdigest()


def protocol_data(tables: tuple[Path, Path], spec: RunSpec, device: str) -> ProtocolData:
    """The feature tables (:func:`feature_tables`) as tensors on ``device``, with the run's ablation's inputs."""
    features, classes = tables
    data = build_protocol_data(read_features(features), read_features(classes), spec.modality, spec.text,
                               spec.text_lookup)
    return data.to(device)


def is_current(files: RunFiles, digest: str) -> bool:
    """The run finished (evaluation written) on feature tables with this digest."""
    first = files.summary(1)
    return first is not None and first.get("inputs") == digest and files.evaluated()


@dataclass(frozen=True)
class Run:
    """One run as every stage sees it: its spec, its folder, and its feature tables (looked up once, when first
    needed: a stage that finds its predecessor missing says so first).  Opened once per stage
    (:meth:`open`) or once per sweep (:func:`open_runs`), then passed whole."""

    spec: RunSpec
    files: RunFiles
    layout: StateLayout = field(repr=False)
    _digests: dict = field(default_factory=dict, repr=False, compare=False)  # tables → digest, shared in a sweep

    @classmethod
    def open(cls, layout: StateLayout, spec: RunSpec) -> "Run":
        return cls(spec, layout.run(spec.dataset, spec.variant), layout)

    @cached_property
    def tables(self) -> tuple[Path, Path]:
        """(features.parquet, classes.parquet) it trains on (:func:`feature_tables`)."""
        return feature_tables(self.layout, self.spec)

    def digest(self) -> str:
        """The tables' :func:`inputs_digest`, read once (once per sweep for runs on the same tables)."""
        if self.tables not in self._digests:
            self._digests[self.tables] = inputs_digest(self.tables)
        return self._digests[self.tables]

    def current(self) -> bool:
        """Evaluated on the tables as they are now (:func:`is_current`); the digest is read only when evaluated."""
        return self.files.evaluated() and is_current(self.files, self.digest())

    def data(self, device: str) -> ProtocolData:
        """The tables as tensors on ``device``, with the run's ablation's inputs (:func:`protocol_data`)."""
        return protocol_data(self.tables, self.spec, device)

    def write_predictor(self, data: ProtocolData, beta: float) -> Path:
        """The evaluated run as a predictor folder (``predictor/`` of the run): what MLflow logs and predict
        loads."""
        features, classes = self.tables
        predictor = Predictor.from_run(data, features, classes, self.files.stage_model(2), beta,
                                       {**self.spec.settings(), "variant": self.spec.variant})
        return predictor.save(self.files.predictor_dir)


def open_runs(layout: StateLayout, specs: list[RunSpec]) -> list[Run]:
    """The specs' runs, their feature tables looked up at once (FileNotFoundError names a missing one before any
    work); those on the same tables read their digest once."""
    shared: dict = {}
    runs = [Run(spec, layout.run(spec.dataset, spec.variant), layout, shared) for spec in specs]
    for run in runs:
        run.tables  # noqa: B018 (looked up now: a missing table stops a sweep before it starts)
    return runs


@dataclass(frozen=True)
class RunOutcome:
    """What an evaluated run left: its metrics, its report files and its MLflow run."""

    spec: RunSpec
    metrics: dict
    report: ReportFiles
    mlflow_run_id: str | None

    def row(self) -> dict:
        """Its row of the ``runs`` table (:mod:`avgzsl.experiments.results`)."""
        return run_row(self.spec, self.metrics, self.mlflow_run_id, self.report.root)


def run_outcome(layout: StateLayout, spec: RunSpec) -> RunOutcome | None:
    """The outcome of the spec's run, None while it is not evaluated."""
    files = layout.run(spec.dataset, spec.variant)
    if not files.report.metrics.exists():
        return None
    return RunOutcome(spec, files.report.read_metrics(), files.report, (files.summary(1) or {}).get("mlflow_run_id"))


def finished_runs(layout: StateLayout, dataset: str, variants: list[str] | None = None) -> list[RunOutcome]:
    """The dataset's evaluated runs (all, or those of ``variants``), by variant name."""
    root = layout.dataset_runs(dataset)
    names = variants if variants is not None else sorted(p.name for p in root.glob("*") if p.is_dir())
    outcomes = []
    for variant in names:
        try:
            spec = RunSpec.from_variant(dataset, variant)
        except SpecError:
            continue
        outcome = run_outcome(layout, spec)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def _predictor_format(path: Path) -> object:
    try:
        return json.loads(path.read_text()).get("format")
    except (OSError, ValueError, AttributeError):
        return None


def run_predictor(layout: StateLayout, folder: Path) -> Path:
    """The predictor folder of a run folder (``runs/<dataset>/<variant>``), written first when missing or older."""
    files = RunFiles(Path(folder))
    metrics = files.report.metrics
    if not files.stage_model(2).exists() or not metrics.exists():
        raise PredictError(f"{folder}: not an evaluated run (a run folder has {files.stage_model(2).name} and "
                           f"{metrics.relative_to(files.root)}; evaluate the run first: `avgzsl reproduce ...`, "
                           f"`avgzsl sweep ...`, or `avgzsl run DATASET --until evaluate`)")
    marker = files.predictor_dir / PREDICTOR_FILE
    if marker.exists() and marker.stat().st_mtime >= max(files.stage_model(2).stat().st_mtime, metrics.stat().st_mtime) \
            and _predictor_format(marker) == FORMAT:  # an older format (or a damaged file) is written again
        return files.predictor_dir
    settings = (files.summary(1) or {}).get("settings", {})
    if "dataset" not in settings:
        raise PredictError(f"{files.stage_summary(1)}: no run settings recorded; re-train the run")
    spec = RunSpec(**{k: v for k, v in settings.items() if k in SPEC_FIELDS})
    if layout.run(spec.dataset, spec.variant).root.resolve() != files.root.resolve():
        layout = StateLayout(files.root.resolve().parents[2])  # the run's own state folder
    run = Run(spec, files, layout)
    trained_on = (files.summary(1) or {}).get("inputs")
    if trained_on is not None and run.digest() != trained_on:  # the model would meet other class embeddings
        raise PredictError(f"{folder}: its feature tables changed since it was trained ({run.tables[0]}); retrain "
                           f"the run (`avgzsl reproduce ...`, `avgzsl sweep ...`) or predict with its logged "
                           f"MLflow model")
    return run.write_predictor(run.data("cpu"), files.report.read_metrics()["val_beta"])
