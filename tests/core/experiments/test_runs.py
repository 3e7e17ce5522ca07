"""Runs on disk (avgzsl.experiments.runs): their feature tables, when a run is current, what finished runs left."""
from __future__ import annotations

import json

import pytest

from avgzsl.clipclap.predictor import PredictError
from avgzsl.data.store import write_parquet_atomic
from avgzsl.experiments import runs
from avgzsl.experiments.runs import Run, feature_tables, finished_runs, inputs_digest, is_current, open_runs, \
    protocol_data, run_outcome, run_predictor
from avgzsl.experiments.spec import RunSpec
from avgzsl.layout import StateLayout
from tests.helpers.tables import tiny_tables

SPEC = RunSpec("ucf", seed=3, epochs=2, batches_per_epoch=5)


@pytest.fixture
def layout(tmp_path) -> StateLayout:
    return StateLayout.resolve(tmp_path / "state")


def _write_tables(layout: StateLayout, seed: int = 0) -> tuple:
    features, classes = tiny_tables(seed)
    paths = layout.dataset("ucf").feature_tables("published")
    write_parquet_atomic(features, paths[0])
    write_parquet_atomic(classes, paths[1])
    return paths


def _finish(layout: StateLayout, spec: RunSpec, digest: str, hm: float = 0.5, mlflow_run_id: str = "m1"):
    """What training and evaluation leave in a run folder (the parts the run bookkeeping reads)."""
    files = layout.run(spec.dataset, spec.variant)
    files.report.root.mkdir(parents=True)
    files.stage_summary(1).write_text(json.dumps({"inputs": digest, "mlflow_run_id": mlflow_run_id,
                                                  "settings": spec.settings()}))
    files.stage_summary(2).write_text("{}")
    metrics = {"test_seen": 0.6, "test_unseen": 0.4, "test_hm": hm, "test_zsl": 0.3, "val_beta": 0.1}
    files.report.metrics.write_text(json.dumps(metrics))
    return files


def test_missing_feature_tables_name_the_file_and_the_command_that_makes_them(layout):
    with pytest.raises(FileNotFoundError, match=r"published/features.parquet does not exist: import the published "
                                                r"features first: `avgzsl reproduce --dataset ucf --features-root "):
        feature_tables(layout, SPEC)
    _write_tables(layout)
    assert feature_tables(layout, SPEC) == layout.dataset("ucf").feature_tables("published")
    extracted = RunSpec("ucf", features="extracted")
    with pytest.raises(FileNotFoundError, match=r"extract the features first: `avgzsl run ucf --until embeddings`"):
        feature_tables(layout, extracted)


def test_the_inputs_digest_follows_the_tables_bytes(layout):
    tables = _write_tables(layout)
    digest = inputs_digest(tables)
    assert inputs_digest(tables) == digest and len(digest) == 64
    assert inputs_digest(tables[::-1]) != digest  # features first, then classes
    _write_tables(layout, seed=1)
    assert inputs_digest(tables) != digest


def test_protocol_data_follows_the_runs_ablation(layout):
    tables = _write_tables(layout)
    both = protocol_data(tables, SPEC, "cpu")
    audio = protocol_data(tables, RunSpec("ucf", modality="audio"), "cpu")
    assert both.inputs.shape[1] == 32 + 48 and audio.inputs.shape[1] == 48
    assert both.inputs.shape[0] == audio.inputs.shape[0] == len(both.labels)


def test_a_run_is_current_only_when_evaluated_on_the_same_tables_and_a_restart_makes_it_stale(layout):
    tables = _write_tables(layout)
    digest = inputs_digest(tables)
    files = layout.run("ucf", SPEC.variant)
    assert not is_current(files, digest) and not Run.open(layout, SPEC).current()
    _finish(layout, SPEC, digest)
    assert is_current(files, digest) and Run.open(layout, SPEC).current()
    assert not is_current(files, inputs_digest(_write_tables(layout, seed=1)))  # the tables changed since
    assert not Run.open(layout, SPEC).current()
    _write_tables(layout)
    files.forget_evaluation()  # what stage 1 does when it starts
    assert not is_current(files, digest) and not Run.open(layout, SPEC).current()


def test_a_run_names_its_missing_tables_only_when_they_are_needed(layout):
    run = Run.open(layout, SPEC)
    assert run.files == layout.run("ucf", SPEC.variant) and not run.current()  # never evaluated: tables not read
    with pytest.raises(FileNotFoundError, match="published/features.parquet does not exist"):
        run.data("cpu")


def test_a_sweeps_runs_name_a_missing_table_before_any_work(layout):
    with pytest.raises(FileNotFoundError, match="published/features.parquet does not exist"):
        open_runs(layout, [SPEC])


def test_a_sweeps_runs_on_the_same_tables_read_them_once(layout, monkeypatch):
    tables = _write_tables(layout)
    read = []
    monkeypatch.setattr(runs, "inputs_digest", lambda paths: read.append(paths) or "d")
    specs = [RunSpec("ucf", seed=seed) for seed in (1, 2, 3)]
    for spec in specs:
        _finish(layout, spec, "d")
    assert [run.current() for run in open_runs(layout, specs)] == [True, True, True]
    assert read == [tables]
    assert Run.open(layout, specs[0]).current() and len(read) == 2  # a stage opens its run afresh


def test_finished_runs_are_the_evaluated_variants_with_their_metrics_report_and_mlflow_run(layout):
    other = RunSpec("ucf", seed=4, epochs=2, batches_per_epoch=5)
    _finish(layout, SPEC, "d", hm=0.5, mlflow_run_id="m1")
    _finish(layout, other, "d", hm=0.7, mlflow_run_id="m2")
    layout.run("ucf", RunSpec("ucf", seed=5).variant).root.mkdir(parents=True)  # trained, never evaluated
    (layout.dataset_runs("ucf") / "notes").mkdir()  # no run's folder
    outcomes = finished_runs(layout, "ucf")
    assert [(o.spec, o.metrics["test_hm"], o.mlflow_run_id) for o in outcomes] == [(SPEC, 0.5, "m1"), (other, 0.7, "m2")]
    row = outcomes[1].row()
    assert (row["variant"], row["seed"], row["test_hm"], row["mlflow_run_id"]) == (other.variant, 4, 0.7, "m2")
    assert row["report"] == str(layout.run("ucf", other.variant).report.root)
    assert [o.spec for o in finished_runs(layout, "ucf", [other.variant, "missing_variant"])] == [other]
    assert run_outcome(layout, RunSpec("ucf", seed=5)) is None
    assert finished_runs(layout, "activitynet") == []


def test_a_predictor_needs_an_evaluated_run_with_recorded_settings(layout):
    files = layout.run("ucf", SPEC.variant)
    files.root.mkdir(parents=True)
    with pytest.raises(PredictError, match=r"not an evaluated run \(a run folder has stage2_model.safetensors and "
                                           r"report/metrics.json; evaluate the run first: `avgzsl reproduce"):
        run_predictor(layout, files.root)
    _finish(layout, SPEC, "d")
    files.stage_model(2).write_bytes(b"")
    files.stage_summary(1).write_text("{}")
    with pytest.raises(PredictError, match=r"stage1.json: no run settings recorded; re-train the run"):
        run_predictor(layout, files.root)


def test_a_predictor_is_not_rebuilt_from_feature_tables_the_run_was_not_trained_on(layout):
    tables = _write_tables(layout)
    files = _finish(layout, SPEC, inputs_digest(tables))
    files.stage_model(2).write_bytes(b"")
    _write_tables(layout, seed=1)  # re-imported or re-extracted since: other class embeddings
    with pytest.raises(PredictError, match=r"its feature tables changed since it was trained .*features.parquet\); "
                                           r"retrain the run"):
        run_predictor(layout, files.root)
