"""The re-extraction schedules and the sources.csv sensor, evaluated against a real instance."""
from __future__ import annotations

import csv
import json
import shutil

import dagster as dg
import pytest

from assets import SHARD_ASSETS
from pipelines.run_config import RANGE_END, RANGE_START
from pipelines.schedules import reextract_class_embeddings, reextract_shards
from pipelines.sensors import custom_sources_sensor
from resources import StateResource
from tests.helpers.runs import execute_request, materialize_manifest

pytestmark = pytest.mark.slow


def spans(requests) -> list[str]:
    return [f"{r.tags[RANGE_START]}...{r.tags[RANGE_END]}" for r in requests]


def tick(cursor: str | None = None):
    context = dg.build_sensor_context(instance=dg.DagsterInstance.get(), cursor=cursor,
                                      resources={"state": StateResource()})
    result = custom_sources_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def watch(monkeypatch, folder, assets=("raw_videos", "media_split")):
    monkeypatch.setenv("AVGZSL_WATCH", str(folder))
    monkeypatch.setenv("AVGZSL_AUTOMATION", str(folder.parent / "automation.yaml"))
    (folder.parent / "automation.yaml").write_text(f"assets: {list(assets)}\n")


def add_videos(folder, n: int) -> None:
    """n more unseen-class test videos, last in the manifest's order (copies of a demo video)."""
    first = next((folder / "videos").glob("stage_2_test_unseen-*.mp4"))
    rows = []
    for i in range(n):
        video = folder / "videos" / f"zz-extra-{i}.mp4"
        shutil.copy(first, video)
        rows.append((video.stem, "violet gong", video.as_uri()))
    with open(folder / "class-split" / "cls_split" / "stage_2_test_unseen.csv", "a", newline="") as f:
        csv.writer(f).writerows((vid, label) for vid, label, _ in rows)
    with open(folder / "sources.csv", "a", newline="") as f:
        csv.writer(f).writerows((vid, url, "", "") for vid, _, url in rows)


def test_schedules_request_each_contiguous_block_of_a_datasets_shards(state_home, monkeypatch):
    instance = dg.DagsterInstance.get()
    instance.add_dynamic_partitions("shard", ["demo-0000", "demo-0001", "ucf-0000", "demo-0002"])
    instance.add_dynamic_partitions("dataset", ["demo"])
    monkeypatch.setenv("AVGZSL_REEXTRACT_DATASETS", "demo,activitynet")
    context = dg.build_schedule_context(instance=instance)

    requests = reextract_shards(context)
    assert spans(requests) == ["demo-0000...demo-0001", "demo-0002...demo-0002"]
    assert {r.job_name for r in requests} == {"acquire_media"}
    assert all([k.to_user_string() for k in r.asset_selection] == list(SHARD_ASSETS) for r in requests)
    assert len({r.run_key for r in requests}) == 2

    (embeddings,) = reextract_class_embeddings(context)
    assert embeddings.partition_key == "demo"
    assert embeddings.asset_selection == [dg.AssetKey("class_embeddings"), dg.AssetKey("extracted_features")]

    monkeypatch.setenv("AVGZSL_REEXTRACT_DATASETS", "activitynet")
    skip = reextract_shards(dg.build_schedule_context(instance=instance))
    assert isinstance(skip, dg.SkipReason) and "activitynet: no shards registered" in skip.skip_message


def test_schedule_request_runs_the_range_it_names(state_home, demo_dataset, monkeypatch):
    materialize_manifest(demo_dataset)
    (state_home.home / "automation.yaml").write_text("datasets: [demo]\nassets: [raw_videos]\n")
    (request,) = reextract_shards(dg.build_schedule_context(instance=dg.DagsterInstance.get()))
    assert spans([request]) == ["demo-0000...demo-0003"]
    execute_request(request)
    ledgers = sorted(p.name for p in (state_home.data_dir / "demo" / "ledgers" / "download").iterdir())
    assert ledgers == [f"demo-000{i}.parquet" for i in range(4)]


def test_sensor_requests_the_manifest_once_then_the_shards_once(state_home, demo_dataset, monkeypatch):
    watch(monkeypatch, demo_dataset)
    first = tick()
    (manifest,) = first.run_requests
    assert manifest.job_name == "video_manifest_job" and manifest.partition_key == "demo"
    assert manifest.run_config["ops"]["video_manifest"]["config"]["source"] == str(demo_dataset)
    assert [(r.partitions_def_name, list(r.partition_keys)) for r in first.dynamic_partitions_requests] == [
        ("dataset", ["demo"])]

    again = tick(first.cursor)  # the same file, seen twice: nothing more
    assert not again.run_requests and "already requested" in again.skip_reason.skip_message

    execute_request(manifest, first.dynamic_partitions_requests)  # what the daemon would launch
    shards = tick(again.cursor)
    assert spans(shards.run_requests) == ["demo-0000...demo-0003"]
    assert [k.to_user_string() for k in shards.run_requests[0].asset_selection] == ["raw_videos", "media_split"]
    assert set(json.loads(shards.cursor)["demo"]["shards"]) == {f"demo-000{i}" for i in range(4)}
    assert not tick(shards.cursor).run_requests


def test_sensor_requests_only_the_shards_a_grown_sources_file_changes(state_home, demo_dataset, monkeypatch):
    watch(monkeypatch, demo_dataset)
    materialize_manifest(demo_dataset)
    baseline = tick()
    assert spans(baseline.run_requests) == ["demo-0000...demo-0003"]  # first look: nothing materialized yet

    add_videos(demo_dataset, 12)  # shard 3 (3 videos) fills up, shard 4 is new
    grown = tick(baseline.cursor)
    (manifest,) = grown.run_requests
    assert manifest.job_name == "video_manifest_job" and not grown.dynamic_partitions_requests
    assert not tick(grown.cursor).run_requests  # the manifest run has not happened yet: nothing twice

    execute_request(manifest)
    assert "demo-0004" in dg.DagsterInstance.get().get_dynamic_partitions("shard")
    new = tick(grown.cursor)
    (request,) = new.run_requests
    assert spans([request]) == ["demo-0003...demo-0004"]
    assert not tick(new.cursor).run_requests

    execute_request(request)  # the requested run downloads and splits just those two shards
    for stage in ("download", "split"):
        ledgers = sorted(p.stem for p in (state_home.data_dir / "demo" / "ledgers" / stage).iterdir())
        assert ledgers == ["demo-0003", "demo-0004"]


def test_sensor_reprocesses_files_changed_back_to_an_earlier_state(state_home, demo_dataset, monkeypatch):
    watch(monkeypatch, demo_dataset)
    materialize_manifest(demo_dataset)
    csvs = [demo_dataset / "sources.csv", demo_dataset / "class-split" / "cls_split" / "stage_2_test_unseen.csv"]
    original = [p.read_bytes() for p in csvs]
    cursor, keys = tick().cursor, []
    for step in ("grow", "revert"):
        if step == "grow":
            add_videos(demo_dataset, 12)
        else:
            for path, content in zip(csvs, original):
                path.write_bytes(content)
        changed = tick(cursor)
        (manifest,) = changed.run_requests
        execute_request(manifest)
        shards = tick(changed.cursor)
        cursor = shards.cursor
        keys += [manifest.run_key, *(r.run_key for r in shards.run_requests)]
        assert spans(shards.run_requests) == ["demo-0003...demo-0004" if step == "grow" else "demo-0003...demo-0003"]
    assert len(set(keys)) == len(keys) == 4  # no run key reused: the daemon would drop a repeated one


def test_sensor_first_look_skips_shards_already_materialized(state_home, demo_dataset, monkeypatch):
    from pipelines.cli import main

    watch(monkeypatch, demo_dataset, assets=("raw_videos",))
    assert main(["run", str(demo_dataset), "--until", "download", "--shards", "0..1"]) == 0
    assert spans(tick().run_requests) == ["demo-0002...demo-0003"]


def test_sensor_reports_a_broken_folder_and_goes_on(state_home, demo_dataset, tmp_path, monkeypatch):
    watch(monkeypatch, demo_dataset)
    monkeypatch.setenv("AVGZSL_WATCH", f"{tmp_path / 'missing'}:{demo_dataset}")
    result = tick()
    assert [r.partition_key for r in result.run_requests] == ["demo"]
    assert set(json.loads(result.cursor)) == {"demo"}
