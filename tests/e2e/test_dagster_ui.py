"""`dagster dev` driven by a real headless Chromium: the asset graph, a run and a daemon backfill.

Runs are launched through the webserver's GraphQL endpoint (the API the UI's
launchpad calls); the browser then watches them finish on their pages.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from tests.helpers.servers import BIN, NEEDS_BROWSER, free_port, server, wait_http

pytestmark = [pytest.mark.slow, NEEDS_BROWSER]
REPOSITORY = {"repositoryLocationName": "avgzsl", "repositoryName": "__repository__"}
LAUNCH_RUN = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) { __typename
  ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } } } }"""
LAUNCH_BACKFILL = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
BACKFILL = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  ... on PartitionBackfill { status runs(limit: 10) { runId status tags { key value } } } } }"""
START_SENSOR = """mutation($selector: SensorSelector!) { startSensor(sensorSelector: $selector) {
  __typename ... on Sensor { sensorState { status } } ... on PythonError { message } } }"""


class UI:
    """The webserver at ``base``: GraphQL calls, and pages opened in the browser with screenshots."""

    def __init__(self, base: str, browser, shots: Path):
        self.base, self.browser, self.shots = base, browser, shots
        shots.mkdir(parents=True, exist_ok=True)

    def graphql(self, query: str, **variables) -> dict:
        request = urllib.request.Request(f"{self.base}/graphql", headers={"Content-Type": "application/json"},
                                         data=json.dumps({"query": query, "variables": variables}).encode())
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise AssertionError(error.read().decode()[:2000]) from error
        assert "errors" not in body, body
        return body["data"]

    def page(self, path: str, shot: str, expect: list[str], timeout: float = 60.0) -> str:
        """Open ``path``; wait until its text shows every ``expect`` string; save a screenshot."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        self.browser.get(self.base + path)
        text = ""

        def shows_all(driver) -> bool:
            nonlocal text
            for skip in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
                skip.click()  # the first-visit "join the community" dialog
            text = driver.find_element(By.TAG_NAME, "body").text
            return "Join the Dagster community" not in text and all(e in text for e in expect)

        try:
            WebDriverWait(self.browser, timeout, poll_frequency=1,
                          ignored_exceptions=(WebDriverException,)).until(shows_all)
        finally:
            self.browser.save_screenshot(str(self.shots / f"{shot}.png"))
        return text


def wait_for(what: str, check, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def dagster_dev(state_home, tmp_path):
    port, log = free_port(), tmp_path / "dagster-dev.log"
    args = [str(BIN / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"]
    with server(args, log) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/server_info", proc, log, timeout=180)
        yield base, log


@pytest.mark.timeout(600)
def test_ui_shows_the_assets_then_a_run_and_a_daemon_backfill_succeed(dagster_dev, browser, demo_dataset,
                                                                       state_home, tmp_path):
    base, log = dagster_dev
    ui = UI(base, browser, tmp_path / "screenshots")
    instance = dg.DagsterInstance.get()
    instance.add_dynamic_partitions("dataset", ["demo"])
    workspace = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    wait_for("the code location", lambda: {"name": "avgzsl", "loadStatus": "LOADED"} in
             ui.graphql(workspace)["workspaceOrError"]["locationEntries"], timeout=120)

    ui.page("/asset-groups", "lineage", ["Global asset lineage", "media", "features", "training", "evaluation"])
    ui.page("/locations/avgzsl/asset-groups/media", "media-group", ["video_manifest", "raw_videos", "media_split"])
    ui.page("/automation", "automation", ["custom_sources_sensor", "reextract_shards", "reextract_class_embeddings"])

    launched = ui.graphql(LAUNCH_RUN, params={
        "selector": {**REPOSITORY, "jobName": "video_manifest_job"},
        "runConfigData": {"ops": {"video_manifest": {"config": {"source": str(demo_dataset)}}}},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": "demo"}]}})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    text = ui.page(f"/runs/{run_id}", "manifest-run", ["Success", "video_manifest"], timeout=240)
    assert "Failure" not in text
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
    assert instance.get_dynamic_partitions("shard") == [f"demo-000{i}" for i in range(4)]

    backfill = ui.graphql(LAUNCH_BACKFILL, params={  # the daemon's asset backfill: one run for the range
        "assetSelection": [{"path": ["raw_videos"]}, {"path": ["media_split"]}],
        "partitionNames": ["demo-0001", "demo-0002"], "title": "e2e shards"})["launchPartitionBackfill"]
    assert backfill["__typename"] == "LaunchBackfillSuccess", backfill
    backfill_id = backfill["backfillId"]

    def finished():
        state = ui.graphql(BACKFILL, id=backfill_id)["partitionBackfillOrError"]
        return state if state["status"] != "REQUESTED" else None

    done = wait_for("the backfill", finished, timeout=300)
    assert done["status"] == "COMPLETED_SUCCESS", (done, log.read_text()[-3000:])
    (run,) = done["runs"]
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
        "demo-0001", "demo-0002")
    ui.page(f"/runs/{run['runId']}", "backfill-run", ["Success", "raw_videos", "media_split"], timeout=60)

    ledgers = state_home.data_dir / "demo" / "ledgers"
    for stage in ("download", "split"):
        assert sorted(p.stem for p in (ledgers / stage).iterdir()) == ["demo-0001", "demo-0002"]

    # The sensor, ticked by the daemon, sees the current manifest and runs only the shards still missing.
    (state_home.home / "automation.yaml").write_text(f"watch: [{demo_dataset}]\nassets: [raw_videos, media_split]\n")
    started = ui.graphql(START_SENSOR, selector={**REPOSITORY, "sensorName": "custom_sources_sensor"})["startSensor"]
    assert started == {"__typename": "Sensor", "sensorState": {"status": "RUNNING"}}, started

    def sensor_runs_done():
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/sensor_name": "custom_sources_sensor"}))
        return runs if len(runs) == 2 and all(r.is_finished for r in runs) else None

    runs = wait_for("the sensor's runs", sensor_runs_done, timeout=240)
    assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
    assert sorted(r.tags["avgzsl/shards"] for r in runs) == ["demo-0000...demo-0000", "demo-0003...demo-0003"]
    ui.page("/locations/avgzsl/sensors/custom_sources_sensor", "sensor",
            ["custom_sources_sensor", "2 runs requested"])
    for stage in ("download", "split"):
        assert sorted(p.stem for p in (ledgers / stage).iterdir()) == [f"demo-000{i}" for i in range(4)]

    shots = sorted(ui.shots.glob("*.png"))
    assert [p.stem for p in shots] == sorted(["automation", "backfill-run", "lineage", "manifest-run", "media-group",
                                              "sensor"])
    assert all(p.stat().st_size > 20_000 and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in shots)
