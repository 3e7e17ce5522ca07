"""The evaluation of a trained run and the results tables, materialized directly."""
from __future__ import annotations

import json

import dagster as dg
import mlflow
import numpy as np
import pandas as pd
import polars as pl
import pytest

from assets.evaluation import gzsl_evaluation, gzsl_results
from assets.training import clipclap_stage1, clipclap_stage2
from avgzsl.clipclap.model import ClipClap
from avgzsl.experiments.spec import RunSpec
from resources import StateResource
from tests.helpers.runs import assert_recalls_match, failures, materialize_run, metadata

SPEC = RunSpec("ucf", text_lookup="positional", seed=1, epochs=2, batches_per_epoch=20)


def test_evaluation_writes_consistent_metrics_predictions_report_and_registers_the_model(state_home, published_ucf):
    result = materialize_run(SPEC, [clipclap_stage1, clipclap_stage2, gzsl_evaluation])
    assert result.success, failures(result)
    report = state_home.run("ucf", SPEC.variant).report.root
    metrics = json.loads((report / "metrics.json").read_text())
    for key in ("test_seen", "test_unseen", "test_hm", "test_zsl", "val_hm", "val_zsl"):
        assert 0.0 <= metrics[key] <= 1.0
    assert (metrics["text_lookup"], metrics["features"], metrics["stage1_epochs"]) == ("positional", "published", 2)
    assert metrics["stage2_epochs"] == metrics["best_epoch"] + 1

    predictions = pl.read_parquet(report / "predictions.parquet")
    assert predictions.height == metrics["test_videos"]
    assert_recalls_match(metrics, predictions)
    html = (report / "report.html").read_text()
    assert "authors&#x27; defect" in html and html.count("data:image/png;base64,") == 4

    meta = metadata(result, "gzsl_evaluation")
    assert meta["test_hm"] == pytest.approx(metrics["test_hm"]) and meta["registered_model"].startswith("avgzsl-ucf v1")
    mlflow.set_tracking_uri(state_home.mlflow_uri)
    (run,) = mlflow.search_runs(experiment_names=["avgzsl-ucf"], output_format="list")
    assert run.data.metrics["test_hm"] == pytest.approx(metrics["test_hm"])
    # No alias moves on its own (test data never chooses); the registered version loads back as ClipClap.
    assert not mlflow.MlflowClient().get_registered_model("avgzsl-ucf").aliases
    loaded = mlflow.pyfunc.load_model("models:/avgzsl-ucf/1")
    assert isinstance(loaded.unwrap_python_model().model, ClipClap)
    with pytest.raises(Exception, match="trained with --text-lookup positional"):  # this run cannot rank names
        loaded.predict(pd.DataFrame({"features": list(np.full((3, 1536), 0.1))}))
    assert loaded.metadata.get_input_schema().input_names() == ["features", "class_names", "class_text"]

    results = dg.materialize([gzsl_results], partition_key="ucf", instance=dg.DagsterInstance.get(),
                             resources={"state": StateResource()})
    assert metadata(results, "gzsl_results")["runs"] == 1


def test_evaluation_needs_both_stages_and_results_need_an_evaluated_run(state_home, published_ucf):
    result = materialize_run(SPEC, [gzsl_evaluation])
    assert not result.success and "train the run first (`avgzsl reproduce ...`" in failures(result)
    results = dg.materialize([gzsl_results], partition_key="ucf", instance=dg.DagsterInstance.get(),
                             resources={"state": StateResource()}, raise_on_error=False)
    assert not results.success and "materialize gzsl_evaluation first" in failures(results)
