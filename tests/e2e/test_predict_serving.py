"""`mlflow models serve` of a run's logged model, on loopback, ranks classes as `avgzsl predict` does."""
from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from avgzsl.clipclap.inputs import model_input
from avgzsl.clipclap.predictor import Predictor
from avgzsl.data.store import arrow_to_vectors
from avgzsl.predict import build_encoders, encoder_specs, text_encoder
from pipelines.cli import main
from tests.helpers.servers import free_port, server, wait_http

pytestmark = pytest.mark.slow
MLFLOW = Path(sys.executable).parent / "mlflow"


def invoke(base: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"{base}/invocations", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def features_of(work: Path, videos: list[Path]) -> np.ndarray:
    """The model inputs `avgzsl predict` computed for the videos (its per-stream feature files)."""
    parts = []
    for stream in ("visual", "audio"):
        (path,) = (work / "features" / stream).glob("*.parquet")
        table = pq.read_table(path)
        by_url = dict(zip(table.column("video_id").to_pylist(), arrow_to_vectors(table.column("vector"))))
        parts.append(np.stack([by_url[v.resolve().as_uri()] for v in videos]))
    return model_input(*parts, "both")


def ranking(rows: list[dict], videos: list[Path]) -> list[tuple]:
    return [(videos[r["row"]].stem, r["rank"], r["class_name"], r["seen"]) for r in rows]


@pytest.mark.timeout(600)
def test_the_served_model_ranks_classes_as_avgzsl_predict_does(state_home, trained_demo, tmp_path, capsys):
    videos, names = trained_demo.test_videos()[::3], trained_demo.test_classes() + ["a dog barking"]
    out = tmp_path / "predictions.parquet"
    assert main(["predict", *map(str, videos), "--classes", *names, "--model", str(trained_demo.run),
                 "--weights", "random", "--top-k", "3", "--out", str(out)]) == 0
    expected = pl.read_parquet(out)
    expected_rows = [(r["video_id"], r["rank"], r["class_name"], r["seen"]) for r in expected.to_dicts()]
    x = features_of(state_home.predict_dir, videos)

    port = free_port()
    base, log = f"http://127.0.0.1:{port}", tmp_path / "serve.log"
    args = [str(MLFLOW), "models", "serve", "-m", "models:/avgzsl-demo@best-test-hm", "--env-manager", "local",
            "-h", "127.0.0.1", "-p", str(port), "-w", "1"]
    env = {"MLFLOW_TRACKING_URI": trained_demo.layout.mlflow_uri, "AVGZSL_HOME": str(tmp_path / "server-home"),
           "MLFLOW_DISABLE_TELEMETRY": "true", "PATH": f"{MLFLOW.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    with server(args, log, env=env) as proc:
        wait_http(f"{base}/ping", proc, log, timeout=180)
        # Class names only: the server encodes the names that are not training classes itself.
        status, answer = invoke(base, {"inputs": {"features": x.tolist(), "class_names": names},
                                       "params": {"top_k": 3}})
        assert status == 200, answer
        served = answer["predictions"]
        assert ranking(served, videos) == expected_rows
        np.testing.assert_allclose([r["distance"] for r in served], expected["distance"].to_numpy(), atol=1e-5)

        # Precomputed class text embeddings (as a client without the text encoders sends them).
        predictor = Predictor.load(trained_demo.run / "predictor")
        encoders = build_encoders(predictor, encoder_specs(predictor, "random", device="cpu"),
                                  trained_demo.layout.models_dir)
        w, _ = predictor.class_text(names, text_encoder(predictor, encoders))
        status, answer = invoke(base, {"inputs": {"features": x.tolist(), "class_names": names,
                                                  "class_text": w.tolist()}, "params": {"top_k": 3}})
        assert status == 200 and ranking(answer["predictions"], videos) == expected_rows

        status, answer = invoke(base, {"inputs": {"features": x[:, :10].tolist(), "class_names": names}})
        assert status >= 400 and "the model takes rows of 544" in json.dumps(answer)
