"""The whole DAG on generated videos: download → split → features → embeddings → train → evaluate.

Real ffmpeg, a real Dagster instance and real MLflow; tiny random encoders built offline.
"""
from __future__ import annotations

import json

import polars as pl
import pyarrow.parquet as pq
import pytest

from tests.helpers.encoders import TINY_OPEN_CLIP_MODEL

FAST_TRAIN = {"epochs": 2, "batches_per_epoch": 10, "batch_size": 16}
pytestmark = pytest.mark.slow


@pytest.fixture
def tiny_encoders(tiny_open_clip_config):
    """Encoder run config: the tiny open_clip architecture from its config file; HTSAT-tiny (random weights bring
    the stand-in text tokenizer, see pipelines.run_config.encoder_resources)."""
    return {"visual_encoder": {"model_name": TINY_OPEN_CLIP_MODEL, "model_config_path": str(tiny_open_clip_config),
                               "device": "cpu", "batch_size": 8},
            "audio_encoder": {"device": "cpu", "batch_size": 4}}


def test_whole_dag_on_generated_videos(state_home, demo_original, tiny_encoders, tmp_path):
    import mlflow

    from pipelines.commands import run_pipeline

    report = tmp_path / "report"
    summary = run_pipeline(state_home, str(demo_original), "evaluate", weights="random", report_dir=report,
                           train=FAST_TRAIN, encoders=tiny_encoders)
    assert set(summary) == {"download", "split", "visual_features", "audio_features", "embeddings", "train",
                            "evaluate"}
    split_ok = summary["split"]["ok"]
    assert (split_ok, summary["split"]["failed"]) == (37, 1)
    assert summary["visual_features"]["ok"] == summary["audio_features"]["ok"] == split_ok
    assert summary["visual_features"]["weights"] == "random"

    data = state_home.dataset("demo").root
    features = pq.read_table(data / "extracted" / "features.parquet")
    assert features.schema.field("visual").type.list_size == 32  # the tiny CLIP's width, from the data
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
    again = run_pipeline(state_home, str(demo_original), "features", weights="random", encoders=tiny_encoders)
    assert again["split"]["skipped"] == split_ok
    from dagster import AssetKey, DagsterInstance

    event = DagsterInstance.get().get_latest_materialization_event(AssetKey("visual_features"))
    assert event.asset_materialization.metadata["shards_skipped"].value == 4
