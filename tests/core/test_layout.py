"""The state folder's layout: safe folder names, where each dataset's and run's files live."""
from __future__ import annotations

import re

import pytest

from avgzsl.layout import ReportFiles, StateLayout, safe_name


@pytest.mark.parametrize("name", ["ucf", "my-birds_2.v1"])
def test_safe_names_keep_plain_keys(name):
    assert safe_name(name) == name


@pytest.mark.parametrize("name", ["../etc", "-rf", "a/b", "ünï", ".hidden", "", "x/" * 100])
def test_safe_names_are_never_paths_or_options_and_stay_distinct(name):
    clean = safe_name(name)
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", clean) and len(clean) <= 57  # a short hash is appended
    assert clean != safe_name(name + "!")


def test_resolve_prefers_the_argument_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("AVGZSL_HOME", str(tmp_path / "from-env"))
    assert StateLayout.resolve().home == tmp_path / "from-env"
    assert StateLayout.resolve(tmp_path / "given").home == tmp_path / "given"
    monkeypatch.delenv("AVGZSL_HOME")
    monkeypatch.chdir(tmp_path)
    assert StateLayout.resolve().home == tmp_path / ".avgzsl"


def test_prepare_creates_the_folders_and_nothing_of_dagster(tmp_path):
    layout = StateLayout.resolve(tmp_path / "state").prepare()
    for folder in (layout.dagster_home, layout.mlflow_artifacts, layout.data_dir, layout.runs_dir, layout.models_dir):
        assert folder.is_dir()
    assert not (layout.dagster_home / "dagster.yaml").exists()  # the Dagster layer writes it (pipelines.state)
    assert layout.mlflow_uri == f"sqlite:///{layout.home / 'mlflow' / 'mlflow.db'}"


def test_dataset_and_run_files(tmp_path):
    layout = StateLayout.resolve(tmp_path)
    paths = layout.dataset("../ucf")
    assert paths.root.parent == layout.data_dir and paths.root.name == safe_name("../ucf")
    assert paths.ledger("split", "ucf-0003") == paths.root / "ledgers" / "split" / "ucf-0003.parquet"
    assert paths.feature_shard("visual", "ucf-0003") == paths.root / "features" / "visual" / "ucf-0003.parquet"
    assert paths.feature_tables("extracted") == (paths.root / "extracted" / "features.parquet",
                                                 paths.root / "extracted" / "classes.parquet")
    with pytest.raises(ValueError, match="features must be one of published, extracted; got 'mine'"):
        paths.feature_tables("mine")
    with pytest.raises(FileNotFoundError, match="run `avgzsl run "):
        paths.read_manifest()
    with pytest.raises(FileNotFoundError, match="run `avgzsl run "):
        paths.read_spec()

    run = layout.run("ucf", "s42")
    assert run.root == layout.runs_dir / "ucf" / "s42"
    assert run.stage_model(2).name == "stage2_model.safetensors" and run.report.root == run.root / "report"
    with pytest.raises(FileNotFoundError, match=r"is missing: train the run first \(`avgzsl reproduce"):
        run.read_summary(1)
    assert run.summary(1) is None and not run.evaluated()
    run.root.mkdir(parents=True)
    run.stage_summary(1).write_text('{"best_epoch": 3}')
    assert run.read_summary(1) == run.summary(1) == {"best_epoch": 3}


def test_a_run_counts_as_evaluated_once_both_stages_and_the_metrics_are_there_and_a_restart_forgets_that(tmp_path):
    run = StateLayout.resolve(tmp_path).run("ucf", "v")
    run.report.root.mkdir(parents=True)
    run.stage_summary(1).write_text("{}")
    run.report.metrics.write_text('{"test_hm": 0.5}')
    assert not run.evaluated()  # stage 2 missing
    run.stage_summary(2).write_text("{}")
    assert run.evaluated() and run.report.read_metrics() == {"test_hm": 0.5}
    run.forget_evaluation()
    assert not run.evaluated() and run.summary(1) == {} and run.summary(2) is None
    with pytest.raises(FileNotFoundError, match="metrics.json is missing: the run has not been evaluated"):
        run.report.read_metrics()


def test_a_report_is_copied_whole_and_a_missing_file_names_itself(tmp_path):
    report = ReportFiles(tmp_path / "report")
    report.root.mkdir()
    for i, path in enumerate((report.metrics, report.predictions, report.page)):
        path.write_bytes(bytes([i]) * 3)
    copy = report.copy_to(tmp_path / "out" / "nested")
    assert {p.name: p.read_bytes() for p in copy.root.iterdir()} == {
        "metrics.json": b"\0\0\0", "predictions.parquet": b"\1\1\1", "report.html": b"\2\2\2"}
    report.page.unlink()
    with pytest.raises(FileNotFoundError, match="report.html"):
        report.copy_to(tmp_path / "again")

