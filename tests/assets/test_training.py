"""The two training stages materialized directly for one run partition (dataset × variant)."""
from __future__ import annotations

import json

import mlflow
import torch
from safetensors.torch import load_file

from assets.training import clipclap_stage1, clipclap_stage2
from avgzsl.clipclap.checkpoints import load_model
from avgzsl.clipclap.model import ClipClap
from avgzsl.experiments.spec import RunSpec
from tests.helpers.runs import failures, materialize_run, metadata

SPEC = RunSpec("ucf", modality="audio", text="clap", seed=3, epochs=2, batches_per_epoch=20)


def test_stage_1_selects_an_epoch_and_stage_2_retrains_for_one_more(state_home, published_ucf):
    result = materialize_run(SPEC, [clipclap_stage1, clipclap_stage2])
    assert result.success, failures(result)
    files = state_home.run("ucf", SPEC.variant)
    first, second = files.read_summary(1), files.read_summary(2)
    assert len(first["history"]) == 2 and first["best_epoch"] in (0, 1)
    assert len(second["history"]) == first["best_epoch"] + 1
    assert first["settings"] == SPEC.settings() and 0 <= first["val"]["hm"] <= 1 and 0 <= first["val"]["beta"] <= 5
    for stage in (1, 2):
        model = load_model(files.stage_model(stage))
        assert isinstance(model, ClipClap) and model.config.input_dim == 1024  # audio only: the CLAP features
    meta = metadata(result, "clipclap_stage1")
    assert meta["best_epoch"] == first["best_epoch"] and meta["mlflow_run_id"] == first["mlflow_run_id"]
    assert metadata(result, "clipclap_stage2")["epochs_trained"] == len(second["history"])

    mlflow.set_tracking_uri(state_home.mlflow_uri)
    (run,) = mlflow.search_runs(experiment_names=["avgzsl-ucf"], output_format="list")
    assert run.info.run_id == first["mlflow_run_id"] and run.info.run_name == SPEC.variant
    assert (run.data.params["modality"], run.data.params["text"], run.data.params["seed"]) == ("audio", "clap", "3")
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "stage1_val_hm")
    assert [m.step for m in history] == [0, 1]
    assert run.data.metrics["stage2_epochs"] == len(second["history"])
    assert json.loads(files.stage_summary(1).read_text())["inputs"]  # the digest of the tables it trained on


def test_the_same_run_trains_the_same_model(state_home, published_ucf):
    spec = RunSpec("ucf", seed=5, epochs=1, batches_per_epoch=5)
    files = state_home.run("ucf", spec.variant)
    assert materialize_run(spec, [clipclap_stage1]).success
    before = load_file(files.stage_model(1))
    assert materialize_run(spec, [clipclap_stage1]).success
    after = load_file(files.stage_model(1))
    assert after.keys() == before.keys() and all(torch.equal(after[k], before[k]) for k in before)


def test_stage_2_needs_stage_1_and_training_needs_its_feature_tables(state_home, instance):
    result = materialize_run(SPEC, [clipclap_stage2])
    assert not result.success and "train the run first (`avgzsl reproduce ...`" in failures(result)
    extracted = RunSpec("demo", features="extracted", epochs=1)
    result = materialize_run(extracted, [clipclap_stage1])
    assert not result.success and "extract the features first: `avgzsl run demo --until embeddings`" in failures(result)



def test_a_stage_that_fails_after_stage_1_leaves_its_mlflow_run_failed_not_finished(state_home, published_ucf):
    spec = RunSpec("ucf", seed=6, epochs=1, batches_per_epoch=3)
    assert materialize_run(spec, [clipclap_stage1]).success
    mlflow.set_tracking_uri(state_home.mlflow_uri)
    (run,) = mlflow.search_runs(experiment_names=["avgzsl-ucf"], output_format="list")
    assert run.info.status == "FINISHED"  # stage 1 closes the run; stage 2 re-opens it
    state_home.dataset("ucf").feature_tables("published")[0].unlink()  # gone between the stages
    result = materialize_run(spec, [clipclap_stage2])
    assert not result.success and "features.parquet does not exist" in failures(result)
    assert mlflow.get_run(run.info.run_id).info.status == "FAILED"
