"""The media assets materialized directly: video_manifest registers the shards, raw_videos and media_split
ledger every video and check the failure rate."""
from __future__ import annotations

import dagster as dg
import polars as pl

from assets.media import media_split, raw_videos, video_manifest
from pipelines.run_config import range_tags
from resources import MediaResource, StateResource
from tests.helpers.runs import add_partitions, checks, failures, materialize_manifest, metadata

SHARD_RESOURCES = {"state": StateResource(), "media": MediaResource(backoff_s=0.01, timeout_s=5.0)}


def test_video_manifest_writes_the_manifest_and_registers_the_shards_once(state_home, instance, demo_original):
    result = materialize_manifest(demo_original)
    meta = metadata(result, "video_manifest")
    assert (meta["videos"], meta["classes"], meta["shards"], meta["new_shards"]) == (38, 7, 4, 4)
    assert (meta["first_shard"], meta["last_shard"]) == ("demo-0000", "demo-0003")
    assert instance.get_dynamic_partitions("shard") == [f"demo-000{i}" for i in range(4)]
    paths = state_home.dataset("demo")
    manifest = pl.read_parquet(paths.manifest)
    assert manifest.height == 38 and manifest["shard"].unique().sort().to_list() == [0, 1, 2, 3]
    assert paths.read_spec().name == "demo"
    assert metadata(materialize_manifest(demo_original), "video_manifest")["new_shards"] == 0


def test_a_source_of_another_name_is_refused(state_home, instance, demo_original):
    add_partitions("dataset", ["other"])
    result = dg.materialize([video_manifest], partition_key="other", instance=instance,
                            resources={"state": StateResource()}, raise_on_error=False,
                            run_config={"ops": {"video_manifest": {"config": {"source": str(demo_original)}}}})
    assert not result.success
    assert "dataset 'demo'" in failures(result) and "under partition 'other'" in failures(result)
    assert instance.get_dynamic_partitions("shard") == []


def test_raw_videos_then_media_split_on_one_shard(state_home, instance, demo_dataset):
    materialize_manifest(demo_dataset)
    result = dg.materialize([raw_videos, media_split], partition_key="demo-0000", instance=instance,
                            resources=SHARD_RESOURCES)
    download, split = metadata(result, "raw_videos"), metadata(result, "media_split")
    assert (download["ok"], download["failed"], download["skipped"], download["shards"]) == (12, 0, 0, 1)
    assert (split["ok"], split["failed"], split["not_downloaded"]) == (11, 1, 0)
    assert "moov atom not found" in split["failure_reasons"]
    evaluations = checks(result)
    assert evaluations["raw_videos:failure_rate"].passed
    assert evaluations["media_split:failure_rate"].passed  # 1 of 12 failed: under the default 20 %

    ledger = pl.read_parquet(state_home.dataset("demo").ledger("split", "demo-0000"))
    broken = ledger.filter(pl.col("video_id") == "broken-video").row(0, named=True)
    assert broken["status"] == "failed" and "moov atom not found" in broken["reason"]
    assert all(p.startswith(str(state_home.data_dir)) for p in ledger["audio_path"].drop_nulls())

    strict = dg.materialize([media_split], partition_key="demo-0000", instance=instance, resources=SHARD_RESOURCES,
                            run_config={"ops": {"media_split": {"config": {"max_failure_rate": 0.0}}}})
    assert metadata(strict, "media_split")["skipped"] == 11  # nothing split twice
    check = checks(strict)["media_split:failure_rate"]
    assert not check.passed and "demo-0000 (1/12)" in check.description


def test_a_shard_range_runs_as_one_run(state_home, instance, demo_dataset):
    materialize_manifest(demo_dataset)
    result = dg.materialize([raw_videos], instance=instance, resources=SHARD_RESOURCES,
                            tags=range_tags("demo-0001", "demo-0002"))
    assert metadata(result, "raw_videos")["shards"] == 2 and metadata(result, "raw_videos")["ok"] == 24
    assert instance.get_materialized_partitions(dg.AssetKey("raw_videos")) == {"demo-0001", "demo-0002"}
    ledgers = state_home.dataset("demo").root / "ledgers" / "download"
    assert sorted(p.stem for p in ledgers.iterdir()) == ["demo-0001", "demo-0002"]


def test_media_split_needs_the_download_first(state_home, instance, demo_original):
    materialize_manifest(demo_original)
    result = dg.materialize([media_split], partition_key="demo-0001", instance=instance, resources=SHARD_RESOURCES,
                            raise_on_error=False)
    assert not result.success and "download shard demo-0001 first (`avgzsl run DATASET --until download --shards 1`)" in failures(result)



def test_the_frame_policy_set_on_the_manifest_reaches_the_split(state_home, instance, demo_dataset):
    add_partitions("dataset", ["demo"])
    dg.materialize([video_manifest], partition_key="demo", instance=instance, resources={"state": StateResource()},
                   run_config={"ops": {"video_manifest": {"config": {"source": str(demo_dataset),
                                                                     "frame_policy": "keyframe"}}}})
    assert state_home.dataset("demo").read_spec().frame_policy == "keyframe"
    result = dg.materialize([raw_videos, media_split], partition_key="demo-0001", instance=instance,
                            resources=SHARD_RESOURCES)
    assert metadata(result, "media_split")["ok"] == 12
    ledger = pl.read_parquet(state_home.dataset("demo").ledger("split", "demo-0001"))
    assert ledger["frame_policy"].unique().to_list() == ["keyframe"]
    assert all("/frames/n1-keyframe/" in paths[0] for paths in ledger["frame_paths"].to_list())
