"""The feature assets materialized directly with tiny random encoders: one shard's features, the class
embeddings, and the dataset's extracted tables."""
from __future__ import annotations

import dagster as dg
import pyarrow.parquet as pq

from assets.features import audio_features, class_embeddings, extracted_features, visual_features
from assets.media import media_split, raw_videos
from avgzsl.data.store import read_features, table_metadata
from resources import MediaResource, StateResource
from tests.helpers.runs import checks, failures, materialize_manifest, metadata


def test_features_of_one_shard_then_the_dataset_tables(state_home, instance, demo_dataset, tiny_encoders):
    resources = {"state": StateResource(), "media": MediaResource(), **tiny_encoders}
    materialize_manifest(demo_dataset)
    shard = dg.materialize([raw_videos, media_split, visual_features, audio_features], partition_key="demo-0000",
                           instance=instance, resources=resources)
    visual, audio = metadata(shard, "visual_features"), metadata(shard, "audio_features")
    # 12 videos in shard 0: the broken one never split, so never reaches the encoders
    assert (visual["encoded"], visual["failed"], visual["shards_recomputed"]) == (11, 0, 1)
    assert (audio["encoded"], audio["failed"]) == (11, 0)
    assert visual["weights"] == audio["weights"] == "random"
    assert visual["encoder"]["model_name"] == "avgzsl-tiny-ViT" and audio["encoder"]["model_name"] == "HTSAT-tiny"
    assert "offline stand-in" in audio["encoder"]["weights_tag"]
    paths = state_home.dataset("demo")
    shard_file = pq.read_table(paths.feature_shard("visual", "demo-0000"))
    assert shard_file.num_rows == 11 and shard_file.schema.field("vector").type.list_size == 32

    tables = dg.materialize([class_embeddings, extracted_features], partition_key="demo", instance=instance,
                            resources=resources)
    embeddings = metadata(tables, "class_embeddings")
    assert (embeddings["classes"], embeddings["skipped_unchanged"], embeddings["prompt_set"]) == (7, False, "custom")
    extracted = metadata(tables, "extracted_features")
    assert (extracted["videos"], extracted["missing_videos"]) == (11, 38 - 11)  # the other shards have no features yet
    assert extracted["visual_weights"] == extracted["audio_weights"] == "random"
    evaluations = {key.split(":")[1]: e for key, e in checks(tables).items() if key.startswith("extracted_features")}
    assert evaluations["seen_unseen_disjoint"].passed and evaluations["vectors_normalised"].passed  # as on published
    assert not evaluations["splits_complete"].passed  # only shard 0 has features so far
    features_path, classes_path = paths.feature_tables("extracted")
    features = read_features(features_path)
    assert features.schema.field("visual").type.list_size == 32 and features.schema.field("audio").type.list_size == 512
    assert table_metadata(features)["visual.frame_policy"] == "middle frame"
    classes = read_features(classes_path)
    assert classes.num_rows == 7 and classes.column("class_name").to_pylist() == sorted(
        classes.column("class_name").to_pylist())

    again = dg.materialize([visual_features, audio_features], partition_key="demo-0000", instance=instance,
                           resources=resources)
    for asset in ("visual_features", "audio_features"):  # unchanged: decided from the spec, no encoder built
        skipped = metadata(again, asset)
        assert (skipped["shards_skipped"], skipped["ok"], skipped["skipped"], skipped["failed"]) == (1, 0, 11, 0)
        assert skipped["encoder_built"] is False and skipped["weights"] == "random"
    assert metadata(again, "visual_features")["encoder"]["model_name"] == "avgzsl-tiny-ViT"  # from the stored file
    assert metadata(dg.materialize([class_embeddings], partition_key="demo", instance=instance, resources=resources),
                    "class_embeddings")["skipped_unchanged"] is True


def test_features_need_the_split_ledger(state_home, instance, demo_original, tiny_encoders):
    materialize_manifest(demo_original)
    result = dg.materialize([visual_features], partition_key="demo-0002", instance=instance, raise_on_error=False,
                            resources={"state": StateResource(), "media": MediaResource(), **tiny_encoders})
    assert not result.success and "materialize media_split for shard demo-0002 first" in failures(result)
