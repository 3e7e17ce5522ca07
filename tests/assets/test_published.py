"""published_features materialized directly: the authors' pickles imported, validated and checked, or refused."""
from __future__ import annotations


import dagster as dg

from assets.published import published_features
from avgzsl.data.schemas import SCHEMA_VERSION, SCHEMA_VERSION_KEY
from avgzsl.data.store import file_metadata, read_features
from avgzsl.data.synthetic import SHAPES
from resources import StateResource
from tests.helpers.data import poisoned_features_root
from tests.helpers.runs import add_partitions, checks, failures, metadata


def materialize(root, instance, dataset="ucf", **config):
    add_partitions("dataset", [dataset])
    config = {"features_root": str(root), **config}
    return dg.materialize([published_features], partition_key=dataset, instance=instance,
                          resources={"state": StateResource()}, raise_on_error=False,
                          run_config={"ops": {"published_features": {"config": config}}})


def test_import_writes_both_tables_and_every_check_passes(state_home, instance, tiny_authors_root):
    result = materialize(tiny_authors_root, instance)
    assert result.success
    meta = metadata(result, "published_features")
    assert (meta["videos"], meta["classes"], meta["visual_dim"], meta["audio_dim"]) == (53, 12, 512, 1024)
    assert meta["videos_per_split"] == SHAPES["tiny"].videos
    evaluations = checks(result)
    assert set(evaluations) == {"published_features:splits_complete", "published_features:seen_unseen_disjoint",
                                "published_features:vectors_normalised"}
    assert all(e.passed for e in evaluations.values())

    features_path, classes_path = state_home.dataset("ucf").feature_tables("published")
    stamp = file_metadata(features_path)
    assert (stamp["source"], stamp["features_root"], stamp[SCHEMA_VERSION_KEY]) == (
        "published", str(tiny_authors_root), SCHEMA_VERSION)
    # `avgzsl synthetic` marked the root: the table and the materialization say so.
    assert stamp["feature_origin"] == meta["feature_origin"] == "synthetic"
    assert "synthetic" in meta["features"] and "published" not in meta["features"]
    assert read_features(features_path).column_names == ["video_id", "class_name", "split", "visual", "audio"]
    assert read_features(classes_path).num_rows == 12
    event = instance.get_latest_materialization_event(dg.AssetKey("published_features"))
    assert event.dagster_event.partition == "ucf"


def test_a_custom_partition_names_the_benchmark_of_its_files(state_home, instance, tiny_authors_root):
    assert materialize(tiny_authors_root, instance, dataset="ucf-copy", benchmark="ucf").success
    assert state_home.dataset("ucf-copy").feature_tables("published")[0].is_file()


def test_a_malicious_pickle_is_refused_naming_the_file_and_nothing_is_written(state_home, instance,
                                                                              tiny_authors_root, tmp_path):
    root, target, marker = poisoned_features_root(tiny_authors_root, tmp_path)
    result = materialize(root, instance)
    assert not result.success and str(target) in failures(result) and "refused to load global" in failures(result)
    assert not marker.exists()
    assert not state_home.dataset("ucf").feature_tables("published")[0].exists()
