"""The inbox sensor: a run of predict_inbox per dataset folder whose videos or class list changed."""
from __future__ import annotations

import json

import dagster as dg

from pipelines.sensors import inbox_sensor
from resources import StateResource


def tick(cursor: str | None = None) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=dg.DagsterInstance.get(), cursor=cursor,
                                      resources={"state": StateResource()})
    return inbox_sensor(context)


def test_a_changed_inbox_requests_one_prediction_run(state_home, instance):
    assert not tick().run_requests
    inbox = state_home.inbox("demo")
    inbox.mkdir(parents=True)
    (inbox / "classes.txt").write_text("dog barking\n")
    first = tick()
    assert not first.run_requests and "demo: no videos" in first.skip_reason.skip_message
    (inbox / "clip.mp4").write_bytes(b"not yet a video")
    (inbox / "predict.yaml").write_text("top_k: 3\nweights: random\n")
    second = tick(first.cursor)
    (request,) = second.run_requests
    assert (request.job_name, request.partition_key) == ("predict_inbox", "demo")
    assert request.run_config == {"ops": {"predictions": {"config": {"top_k": 3, "weights": "random"}}}}
    assert [list(r.partition_keys) for r in second.dynamic_partitions_requests] == [["demo"]]
    again = tick(second.cursor)
    assert not again.run_requests and "demo: unchanged" in again.skip_reason.skip_message
    (inbox / "classes.txt").write_text("dog barking\nplaying piano\n")
    changed = tick(again.cursor)
    assert len(changed.run_requests) == 1 and changed.run_requests[0].run_key != request.run_key
    assert json.loads(changed.cursor).keys() == {"demo"}


def test_a_bad_settings_file_is_reported_not_requested(state_home, instance):
    inbox = state_home.inbox("demo")
    inbox.mkdir(parents=True)
    (inbox / "clip.mp4").write_bytes(b"x")
    (inbox / "predict.yaml").write_text("[1, 2]\n")
    result = tick()
    assert not result.run_requests and "expected a mapping" in result.skip_reason.skip_message
