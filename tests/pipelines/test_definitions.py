"""The code location loads: every job, schedule and sensor resolves, and the asset graph is the DAG we expect.

Fast (no run is launched); the end-to-end tests exercise the same definitions for real.
"""
from __future__ import annotations

import dagster as dg
import pytest

from pipelines.definitions import defs
from pipelines.jobs import JOBS
from pipelines.schedules import schedules
from pipelines.sensors import sensors

# asset → its upstream assets
GRAPH = {
    "video_manifest": set(),
    "raw_videos": {"video_manifest"},
    "media_split": {"raw_videos"},
    "visual_features": {"media_split"},
    "audio_features": {"media_split"},
    "class_embeddings": {"video_manifest"},
    "extracted_features": {"visual_features", "audio_features", "class_embeddings"},
    "published_features": set(),
    "clipclap_stage1": {"published_features", "extracted_features"},
    "clipclap_stage2": {"clipclap_stage1"},
    "gzsl_evaluation": {"clipclap_stage1", "clipclap_stage2"},
    "gzsl_results": {"gzsl_evaluation"},
    "predictions": {"gzsl_evaluation"},
}
SHARD_ASSETS = {"raw_videos", "media_split", "visual_features", "audio_features"}
FEATURE_TABLE_CHECKS = {"splits_complete", "seen_unseen_disjoint", "vectors_normalised"}
CHECKS = {"raw_videos": {"failure_rate"}, "media_split": {"failure_rate"},
          "published_features": FEATURE_TABLE_CHECKS, "extracted_features": FEATURE_TABLE_CHECKS}


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def test_every_job_resolves_and_selects_assets():
    names = [job.name for job in JOBS]
    assert len(names) == len(set(names))
    resolved = {job.name for job in defs.resolve_all_job_defs()}
    assert set(names) <= resolved
    for name in names:
        job = defs.resolve_job_def(name)
        assert job.name == name
        selected = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
        assert selected and selected <= set(GRAPH), name
    acquire = defs.resolve_job_def("acquire_media")
    assert {k.to_user_string() for k in acquire.asset_layer.executable_asset_keys} == SHARD_ASSETS


def test_every_schedule_and_sensor_resolves_with_its_job():
    job_names = {job.name for job in JOBS}
    assert {s.name for s in schedules} == {"reextract_shards", "reextract_class_embeddings"}
    for schedule in schedules:
        resolved = defs.resolve_schedule_def(schedule.name)
        assert resolved.job_name in job_names and resolved.default_status.value == "STOPPED"
    assert [s.name for s in sensors] == ["custom_sources_sensor", "inbox_sensor", "results_automation"]
    for sensor in sensors[:2]:  # the job sensors are off until asked for
        resolved = defs.resolve_sensor_def(sensor.name)
        assert {target.job_name for target in resolved.targets} <= job_names
        assert resolved.default_status.value == "STOPPED"
    # gzsl_results refreshes itself after any evaluation: its automation sensor runs in the daemon by default.
    assert defs.resolve_sensor_def("results_automation").default_status.value == "RUNNING"


def test_the_asset_graph_has_the_expected_assets_and_edges(graph):
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == set(GRAPH)
    for asset, parents in GRAPH.items():
        node = graph.get(dg.AssetKey(asset))
        assert {p.to_user_string() for p in node.parent_keys} == parents, asset


def test_shard_assets_are_shard_partitioned_and_checks_are_declared(graph):
    for asset in GRAPH:
        node = graph.get(dg.AssetKey(asset))
        if asset in SHARD_ASSETS:
            assert node.partitions_def.name == "shard", asset
        assert node.partitions_def is not None, asset
        assert {check.name for check in node.check_keys} == CHECKS.get(asset, set()), asset
    for asset in ("video_manifest", "class_embeddings", "extracted_features", "published_features", "predictions"):
        assert graph.get(dg.AssetKey(asset)).partitions_def.name == "dataset"


def test_every_stage_of_avgzsl_run_has_its_assets_in_pipeline_order_and_the_cli_offers_exactly_those():
    from assets import STAGES, asset_names
    from avgzsl.names import PIPELINE_STAGES, SHARD_STAGES
    from pipelines.cli import build_parser

    order = list(GRAPH)  # upstream before downstream
    names = asset_names(*PIPELINE_STAGES)
    assert all(STAGES[stage] for stage in PIPELINE_STAGES) and names == sorted(names, key=order.index)
    assert set(asset_names(*SHARD_STAGES)) == SHARD_ASSETS
    run = build_parser()._subparsers._group_actions[0].choices["run"]
    until = next(action for action in run._actions if action.dest == "until")
    assert tuple(until.choices) == PIPELINE_STAGES


def test_the_twin_feature_assets_differ_only_in_their_stream(graph):
    visual, audio = (graph.get(dg.AssetKey(f"{s}_features")) for s in ("visual", "audio"))
    for node in (visual, audio):
        assert (node.group_name, node.pools, node.kinds) == ("features", {"gpu"}, {"pytorch", "parquet"})
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
    assert "CLIP image" in visual.description and "CLAP audio" in audio.description
    assets_def = {a.key.to_user_string(): a for a in defs.assets}
    assert "visual_encoder" in assets_def["visual_features"].required_resource_keys
    assert "audio_encoder" in assets_def["audio_features"].required_resource_keys
