"""`mlflow server` on the state folder's SQLite store serves the run `avgzsl reproduce` logged."""
from __future__ import annotations

import json
import urllib.parse
import urllib.request

import pytest

from pipelines.cli import main
from avgzsl.data.synthetic import make_synthetic_root
from tests.helpers.servers import BIN, free_port, server, wait_http

pytestmark = pytest.mark.slow


def api(base: str, endpoint: str, body: dict | None = None, **query) -> dict:
    url = f"{base}/api/2.0/mlflow/{endpoint}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.timeout(300)
def test_mlflow_server_shows_the_run_its_metrics_and_models(state_home, tmp_path):
    root = make_synthetic_root(tmp_path / "UCF", shape="tiny", seed=3)
    out = tmp_path / "out"
    assert main(["reproduce", "--dataset", "ucf", "--features-root", str(root), "--report-dir", str(out),
                 "--epochs", "2", "--batches-per-epoch", "20"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "mlflow-server.log"
    args = [str(BIN / "mlflow"), "server", "--backend-store-uri", state_home.mlflow_uri,
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    with server(args, log, env={"MLFLOW_DISABLE_TELEMETRY": "true"}) as proc:
        wait_http(f"{base}/health", proc, log)
        experiment = api(base, "experiments/get-by-name", experiment_name="avgzsl-ucf")["experiment"]
        assert experiment["artifact_location"].startswith((state_home.mlflow_artifacts).as_uri())
        runs = api(base, "runs/search", {"experiment_ids": [experiment["experiment_id"]]})["runs"]
        assert len(runs) == 1
        run = runs[0]
        assert run["info"]["status"] == "FINISHED"
        logged = {m["key"]: m["value"] for m in run["data"]["metrics"]}
        for key in ("test_hm", "test_seen", "test_unseen", "test_zsl"):
            assert logged[key] == pytest.approx(metrics[key])
        params = {p["key"]: p["value"] for p in run["data"]["params"]}
        assert params["modality"] == "both" and params["text_lookup"] == "name"

        run_id = run["info"]["run_id"]
        models = api(base, "artifacts/list", run_id=run_id, path="models")["files"]
        sizes = {f["path"]: int(f.get("file_size", 0)) for f in models}
        for name in ("models/stage1_model.safetensors", "models/stage2_model.safetensors"):
            assert sizes.get(name, 0) > 1000, sizes
        report = api(base, "artifacts/list", run_id=run_id, path="report")["files"]
        assert "report/metrics.json" in {f["path"] for f in report}
        history = api(base, "metrics/get-history", run_id=run_id, metric_key="stage1_val_hm")["metrics"]
        assert [m["step"] for m in history] == [0, 1]
