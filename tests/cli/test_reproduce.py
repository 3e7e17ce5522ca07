"""`avgzsl reproduce` end to end: real Dagster instance, real MLflow on SQLite, generated features."""
from __future__ import annotations

import json

import polars as pl
import pytest

from avgzsl.experiments.spec import RunSpec
from pipelines.cli import main
from tests.helpers.data import poisoned_features_root
from tests.helpers.runs import assert_recalls_match

FAST = ["--epochs", "2", "--batches-per-epoch", "20"]


def reproduce(root, out, *extra):
    return main(["reproduce", "--dataset", "ucf", "--features-root", str(root), "--report-dir", str(out), *FAST,
                 *extra])


def test_reproduce_writes_consistent_metrics_predictions_report_and_tracks_everything(state_home, tiny_authors_root,
                                                                                      tmp_path):
    import dagster as dg
    import mlflow

    out = tmp_path / "out"
    assert reproduce(tiny_authors_root, out, "--modality", "audio", "--text", "clap") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("test_seen", "test_unseen", "test_hm", "test_zsl", "val_beta", "val_hm"):
        assert 0.0 <= metrics[key] <= (5.0 if key == "val_beta" else 1.0)
    assert metrics["stage1_epochs"] == 2 and metrics["stage2_epochs"] == metrics["best_epoch"] + 1
    assert (metrics["modality"], metrics["text"], metrics["text_lookup"]) == ("audio", "clap", "name")
    # What the numbers rest on: a synthetic root (its marker), a shortened run, one torch thread on the CPU.
    assert (metrics["feature_origin"], metrics["protocol"], metrics["threads"], metrics["device"]) == (
        "synthetic", "shortened", 1, "cpu")
    assert metrics["protocol_changes"] == "epochs 2 (paper: 20), batches per epoch 20 (paper: 300)"

    pred = pl.read_parquet(out / "predictions.parquet")
    assert pred.columns == ["video_id", "true_class", "split", "predicted_class", "predicted_class_zsl"]
    assert_recalls_match(metrics, pred)
    report = (out / "report.html").read_text()
    assert "looked up by class name" in report and report.count("data:image/png;base64,") == 4
    assert "authors&#x27; published" not in report and "synthetic feature set" in report
    assert "not the paper&#x27;s setting: synthetic features; shortened: epochs 2 (paper: 20)" in report
    assert "are in % on this page" in report and f"<td>{100 * metrics['test_hm']:.4f}</td>" in report

    # The runs live in the persistent instance: the UI shows them afterwards.
    instance = dg.DagsterInstance.get()
    variant = RunSpec("ucf", modality="audio", text="clap", epochs=2, batches_per_epoch=20).variant
    for key, partition in (("published_features", "ucf"), ("clipclap_stage1", f"ucf|{variant}"),
                           ("clipclap_stage2", f"ucf|{variant}"), ("gzsl_evaluation", f"ucf|{variant}")):
        event = instance.get_latest_materialization_event(dg.AssetKey(key))
        assert event is not None and event.dagster_event.partition == partition
    mlflow.set_tracking_uri(state_home.mlflow_uri)
    runs = mlflow.search_runs(experiment_names=["avgzsl-ucf"], output_format="list")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.params["modality"] == "audio" and run.data.params["text_lookup"] == "name"
    assert (run.data.params["threads"], run.data.params["device"], run.data.params["feature_origin"]) == (
        "1", "cpu", "synthetic")
    assert (run.data.tags["avgzsl.feature_origin"], run.data.tags["avgzsl.protocol"]) == ("synthetic", "shortened")
    experiment = mlflow.get_experiment_by_name("avgzsl-ucf")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"  # the UI opens on its runs
    assert run.data.metrics["test_hm"] == pytest.approx(metrics["test_hm"])
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "stage1_val_hm")
    assert len(history) == 2
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "models")}
    assert artifacts == {"models/stage1_model.safetensors", "models/stage2_model.safetensors"}
    assert str(state_home.mlflow_artifacts) in run.info.artifact_uri
    # The stage-2 network loads back as the project's model class, from the alias the user promoted it to.
    from avgzsl.clipclap.model import ClipClap

    assert main(["promote", "--dataset", "ucf", run.info.run_id]) == 0
    loaded = mlflow.pyfunc.load_model("models:/avgzsl-ucf@promoted")
    assert isinstance(loaded.unwrap_python_model().model, ClipClap)


def test_same_seed_gives_identical_metrics_and_positional_lookup_is_reported(state_home, tiny_authors_root, tmp_path):
    assert reproduce(tiny_authors_root, tmp_path / "a") == 0
    assert reproduce(tiny_authors_root, tmp_path / "b") == 0
    assert (tmp_path / "a" / "metrics.json").read_bytes() == (tmp_path / "b" / "metrics.json").read_bytes()
    assert reproduce(tiny_authors_root, tmp_path / "c", "--text-lookup", "positional") == 0
    assert json.loads((tmp_path / "c" / "metrics.json").read_text())["text_lookup"] == "positional"
    assert "authors&#x27; defect" in (tmp_path / "c" / "report.html").read_text()


def test_malicious_pickle_is_refused_naming_the_file_and_nothing_runs(state_home, tiny_authors_root, tmp_path, capsys):
    root, target, marker = poisoned_features_root(tiny_authors_root, tmp_path)
    assert reproduce(root, tmp_path / "out") == 1
    assert target.name in capsys.readouterr().err
    assert not marker.exists()
    assert not list(state_home.runs_dir.glob("*/*/stage1_model.safetensors"))  # no training started
