"""Training runs on disk: their inputs, whether they are current, and their results.

A run (one :class:`RunSpec`) lives in ``runs/<dataset>/<variant>/`` of the state
folder.  It is *current* when its evaluation finished and its stage-1 summary records
the same digest of the feature tables as the tables now hold; a sweep skips current
runs and trains the rest.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from avgzsl.clipclap.inputs import ProtocolData, build_protocol_data
from avgzsl.clipclap.predictor import FORMAT, Predictor, PredictError
from avgzsl.data.store import read_features, write_bytes_atomic
from avgzsl.experiments.results import run_row
from avgzsl.experiments.spec import SPEC_FIELDS, RunSpec, SpecError
from avgzsl.layout import RunFiles, StateLayout

METRICS_FILE = "metrics.json"


def feature_tables(layout: StateLayout, spec: RunSpec) -> tuple[Path, Path]:
    """(features.parquet, classes.parquet) the run trains on; FileNotFoundError names a missing one."""
    paths = layout.dataset(spec.dataset).feature_tables(spec.features)
    for path in paths:
        if not path.exists():
            upstream = "published_features" if spec.features == "published" else "extracted_features"
            raise FileNotFoundError(f"{path} does not exist: materialize {upstream} for dataset {spec.dataset!r} first")
    return paths


def inputs_digest(paths: tuple[Path, ...]) -> str:
    """sha256 over the feature tables' bytes: a run is redone when they change."""
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
    return h.hexdigest()


def protocol_data(layout: StateLayout, spec: RunSpec, device: str) -> ProtocolData:
    """The run's feature tables as tensors on ``device``, with its ablation's inputs."""
    features, classes = feature_tables(layout, spec)
    data = build_protocol_data(read_features(features), read_features(classes), spec.modality, spec.text,
                               spec.text_lookup)
    return data.to(device)


def start_run(files: RunFiles) -> None:
    """Forget a previous attempt's stage-2 summary and evaluation: a run is current only once it finished again."""
    for path in (files.stage_summary(2), files.report_dir / METRICS_FILE):
        path.unlink(missing_ok=True)


def _summary(files: RunFiles, stage: int) -> dict | None:
    path = files.stage_summary(stage)
    return json.loads(path.read_text()) if path.exists() else None


def is_current(files: RunFiles, digest: str) -> bool:
    """The run finished (evaluation written) on feature tables with this digest."""
    first = _summary(files, 1)
    return (first is not None and first.get("inputs") == digest and _summary(files, 2) is not None
            and (files.report_dir / METRICS_FILE).exists())


def finished_runs(layout: StateLayout, dataset: str, variants: list[str] | None = None) -> list[dict]:
    """``runs`` rows (see :mod:`avgzsl.experiments.results`) of the dataset's evaluated runs."""
    root = layout.dataset_runs(dataset)
    names = variants if variants is not None else sorted(p.name for p in root.glob("*") if p.is_dir())
    rows = []
    for variant in names:
        files = layout.run(dataset, variant)
        metrics_path = files.report_dir / METRICS_FILE
        try:
            spec = RunSpec.from_variant(dataset, variant)
        except SpecError:
            continue
        if not metrics_path.exists():
            continue
        first = _summary(files, 1) or {}
        rows.append(run_row(spec, json.loads(metrics_path.read_text()), first.get("mlflow_run_id"), files.report_dir))
    return rows


REPORT_FILES = ("metrics.json", "predictions.parquet", "report.html")


def export_report(files: RunFiles, out_dir: Path) -> Path:
    """Copy a run's evaluation (metrics.json, predictions.parquet, report.html) into ``out_dir``."""
    for name in REPORT_FILES:
        write_bytes_atomic((files.report_dir / name).read_bytes(), Path(out_dir) / name)
    return Path(out_dir)


def write_predictor(layout: StateLayout, spec: RunSpec, data: ProtocolData, beta: float) -> Path:
    """The evaluated run as a predictor folder (``predictor/`` of the run): what MLflow logs and predict loads."""
    features, classes = feature_tables(layout, spec)
    files = layout.run(spec.dataset, spec.variant)
    predictor = Predictor.from_run(data, features, classes, files.stage_model(2), beta,
                                   {**spec.settings(), "variant": spec.variant})
    return predictor.save(files.predictor_dir)


def _predictor_format(path: Path) -> object:
    try:
        return json.loads(path.read_text()).get("format")
    except (OSError, ValueError, AttributeError):
        return None


def run_predictor(layout: StateLayout, folder: Path) -> Path:
    """The predictor folder of a run folder (``runs/<dataset>/<variant>``), written first when missing or older."""
    files = RunFiles(Path(folder))
    metrics = files.report_dir / METRICS_FILE
    if not files.stage_model(2).exists() or not metrics.exists():
        raise PredictError(f"{folder}: not an evaluated run (a run folder has {files.stage_model(2).name} and "
                           f"report/{METRICS_FILE}; materialize gzsl_evaluation of the run first)")
    marker = files.predictor_dir / "predictor.json"
    if marker.exists() and marker.stat().st_mtime >= max(files.stage_model(2).stat().st_mtime, metrics.stat().st_mtime) \
            and _predictor_format(marker) == FORMAT:  # an older format (or a damaged file) is written again
        return files.predictor_dir
    settings = (_summary(files, 1) or {}).get("settings", {})
    if "dataset" not in settings:
        raise PredictError(f"{files.stage_summary(1)}: no run settings recorded; re-train the run")
    spec = RunSpec(**{k: v for k, v in settings.items() if k in SPEC_FIELDS})
    if layout.run(spec.dataset, spec.variant).root.resolve() != files.root.resolve():
        layout = StateLayout(files.root.resolve().parents[2])  # the run's own state folder
    beta = json.loads(metrics.read_text())["val_beta"]
    return write_predictor(layout, spec, protocol_data(layout, spec, "cpu"), beta)
