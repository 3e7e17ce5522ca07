"""The predictions asset: a dataset's inbox classified with a trained model, materialized directly."""
from __future__ import annotations

import shutil

import dagster as dg
import polars as pl

from assets.predictions import predictions
from resources import MediaResource, MlflowResource, StateResource
from tests.helpers.runs import add_partitions, failures, metadata

RESOURCES = {"state": StateResource(), "mlflow": MlflowResource(), "media": MediaResource()}


def materialize(config: dict | None = None) -> dg.ExecuteInProcessResult:
    add_partitions("dataset", ["demo"])
    return dg.materialize([predictions], partition_key="demo", instance=dg.DagsterInstance.get(), resources=RESOURCES,
                          run_config={"ops": {"predictions": {"config": config or {}}}}, raise_on_error=False)


def test_the_inbox_is_classified_into_a_table_with_markdown_metadata(state_home, trained_demo):
    inbox = state_home.inbox("demo")
    inbox.mkdir(parents=True)
    for video in (*trained_demo.test_videos()[:2], trained_demo.broken):
        shutil.copy(video, inbox / video.name)
    (inbox / "classes.txt").write_text("amber bell\nviolet gong\nyellow whistle\n")
    result = materialize({"model": str(trained_demo.run), "top_k": 2})
    assert result.success, failures(result)
    meta = metadata(result, "predictions")
    assert (meta["videos"], meta["predicted"], meta["failed"], meta["classes"], meta["seen_classes"]) == (3, 2, 1, 3, 1)
    assert "| input | video |" in meta["predictions"] and "error: split: moov atom not found" in meta["predictions"]
    table = pl.read_parquet(meta["path"])
    assert meta["path"] == str(state_home.predictions_file("demo"))
    assert table.height == 2 * 2 + 1 and table.filter(pl.col("rank").is_not_null())["class_name"].is_in(
        ["amber bell", "violet gong", "yellow whistle"]).all()


def test_without_an_inbox_or_a_model_the_asset_says_what_is_missing(state_home, trained_demo):
    result = materialize({"model": str(trained_demo.run)})
    assert not result.success and "put the videos to classify there" in failures(result)
    inbox = state_home.inbox("demo")
    inbox.mkdir(parents=True)
    shutil.copy(trained_demo.test_videos()[0], inbox)
    (inbox / "classes.txt").write_text("violet gong\n")
    result = materialize()  # the registered model: none in this state folder
    assert not result.success and "dataset demo: no promoted model yet" in failures(result)
