"""The whole DAG on generated videos: download → split → features → embeddings → train → evaluate.

Real ffmpeg, a real Dagster instance and real MLflow; tiny random encoders built offline.
"""
from __future__ import annotations

import json

import polars as pl
import pyarrow.parquet as pq
import pytest

from avgzsl.data.demo import make_demo_dataset
from tests.core.encoder_fixtures import TINY_OPEN_CLIP_MODEL, fake_hf_hub, tiny_visual_spec  # noqa: F401

TINY_ENCODERS = {"visual_encoder": {"model_name": TINY_OPEN_CLIP_MODEL, "device": "cpu", "batch_size": 8},
                 "audio_encoder": {"device": "cpu", "batch_size": 4}}
FAST_TRAIN = {"epochs": 2, "batches_per_epoch": 10, "batch_size": 16}


@pytest.fixture(scope="module")
def demo_dataset(tmp_path_factory):
    return make_demo_dataset(tmp_path_factory.mktemp("datasets") / "demo")


def test_whole_dag_on_generated_videos(state_home, demo_dataset, fake_hf_hub, tmp_path):  # noqa: F811
    import mlflow

    from pipelines.launch import run_pipeline

    tiny_visual_spec()  # registers the tiny open_clip config in this process
    report = tmp_path / "report"
    summary = run_pipeline(state_home, str(demo_dataset), "evaluate", weights="random", report_dir=report,
                           train=FAST_TRAIN, encoders=TINY_ENCODERS)
    assert set(summary) == {"download", "split", "visual_features", "audio_features", "embeddings", "train",
                            "evaluate"}
    split_ok = summary["split"]["ok"]
    assert (split_ok, summary["split"]["failed"]) == (37, 1)
    assert summary["visual_features"]["ok"] == summary["audio_features"]["ok"] == split_ok
    assert summary["visual_features"]["weights"] == "random"

    data = state_home.dataset_dir("demo")
    features = pq.read_table(data / "extracted" / "features.parquet")
    assert features.schema.field("video").type.list_size == 32  # the tiny CLIP's width, from the data
    assert features.schema.field("audio").type.list_size == 512
    assert features.num_rows == split_ok and "broken-video" not in features.column("video_id").to_pylist()
    meta = {k.decode(): v.decode() for k, v in features.schema.metadata.items()}
    assert meta["visual.weights"] == meta["audio.weights"] == "random"
    assert meta["visual.frame_policy"] == "middle frame"
    classes = pl.read_parquet(data / "extracted" / "classes.parquet")
    assert classes.height == 7 and classes["class_name"].to_list() == sorted(classes["class_name"].to_list())

    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["features"] == "extracted" and 0 <= metrics["test_hm"] <= 1
    html = (report / "report.html").read_text()
    assert "features extracted by this pipeline" in html and "random" in html
    mlflow.set_tracking_uri(state_home.mlflow_uri)
    assert len(mlflow.search_runs(experiment_names=["avgzsl-demo"], output_format="list")) == 1

    # Re-materializing unchanged shards skips the encoders' work.
    again = run_pipeline(state_home, str(demo_dataset), "features", weights="random", encoders=TINY_ENCODERS)
    assert again["split"]["skipped"] == split_ok
    from dagster import AssetKey, DagsterInstance

    event = DagsterInstance.get().get_latest_materialization_event(AssetKey("visual_features"))
    assert event.asset_materialization.metadata["shards_skipped"].value == 4
