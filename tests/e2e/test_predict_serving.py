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
from assets.evaluation import gzsl_evaluation
from assets.training import clipclap_stage1, clipclap_stage2
from avgzsl.experiments.spec import RunSpec
from pipelines.cli import main
from resources import MlflowResource
from tests.assets.conftest import published_ucf  # noqa: F401 (a fixture)
from tests.helpers.runs import materialize_run
from tests.helpers.servers import free_port, server, wait_http

pytestmark = pytest.mark.slow
MLFLOW = Path(sys.executable).parent / "mlflow"


def invoke(base: str, body: dict | bytes) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}/invocations", data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def records(x: np.ndarray, **columns) -> list[dict]:
    """JSON records, one per input row, each with the per-request columns (class_names, the same on every row)."""
    return [{"features": row, **columns} for row in x.tolist()]


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

    # No alias is chosen on test: the user promotes the run, and the server takes the promoted model.
    assert main(["--home", str(trained_demo.layout.home), "promote", "--dataset", "demo", trained_demo.run.name]) == 0
    port = free_port()
    base, log = f"http://127.0.0.1:{port}", tmp_path / "serve.log"
    args = [str(MLFLOW), "models", "serve", "-m", "models:/avgzsl-demo@promoted", "--env-manager", "local",
            "-h", "127.0.0.1", "-p", str(port), "-w", "1"]
    env = {"MLFLOW_TRACKING_URI": trained_demo.layout.mlflow_uri, "AVGZSL_HOME": str(tmp_path / "server-home"),
           "MLFLOW_DISABLE_TELEMETRY": "true", "PATH": f"{MLFLOW.parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT": "300"}  # the first request builds the text encoders (busy CI)
    with server(args, log, env=env) as proc:
        wait_http(f"{base}/ping", proc, log, timeout=180)
        # Class names only: the server encodes the names that are not training classes itself.
        status, answer = invoke(base, {"inputs": records(x, class_names=names), "params": {"top_k": 3}})
        assert status == 200, answer
        served = answer["predictions"]
        assert ranking(served, videos) == expected_rows
        np.testing.assert_allclose([r["distance"] for r in served], expected["distance"].to_numpy(), atol=1e-5)

        # Precomputed class text embeddings (as a client without the text encoders sends them), as a DataFrame.
        predictor = Predictor.load(trained_demo.run / "predictor")
        encoders = build_encoders(predictor, encoder_specs(predictor, "random", device="cpu"),
                                  trained_demo.layout.models_dir)
        w, _ = predictor.class_text(names, text_encoder(predictor, encoders))
        frame = {"columns": ["features", "class_names", "class_text"],
                 "data": [[row, names, w.tolist()] for row in x.tolist()]}
        status, answer = invoke(base, {"dataframe_split": frame, "params": {"top_k": 3}})
        assert status == 200 and ranking(answer["predictions"], videos) == expected_rows


@pytest.mark.timeout(600)
def test_the_served_model_answers_bad_input_with_400_naming_the_cause(state_home, published_ucf, tmp_path):
    spec = RunSpec("ucf", epochs=1, batches_per_epoch=3, batch_size=16)
    assert materialize_run(spec, [clipclap_stage1, clipclap_stage2, gzsl_evaluation]).success
    MlflowResource().promote("ucf", state_home.run("ucf", spec.variant).read_summary(1)["mlflow_run_id"])
    names = [c["class_name"] for c in Predictor.load(state_home.run("ucf", spec.variant).predictor_dir).seen_classes]
    x = np.random.default_rng(0).normal(size=(3, 1536)).astype(np.float32)

    port = free_port()
    base, log = f"http://127.0.0.1:{port}", tmp_path / "serve.log"
    args = [str(MLFLOW), "models", "serve", "-m", "models:/avgzsl-ucf@promoted", "--env-manager", "local",
            "-h", "127.0.0.1", "-p", str(port), "-w", "1"]
    env = {"MLFLOW_TRACKING_URI": state_home.mlflow_uri, "AVGZSL_HOME": str(tmp_path / "server-home"),
           "MLFLOW_DISABLE_TELEMETRY": "true", "PATH": f"{MLFLOW.parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "AVGZSL_SERVE_MAX_NEW_CLASSES": "8"}
    with server(args, log, env=env) as proc:
        wait_http(f"{base}/ping", proc, log, timeout=180)
        status, answer = invoke(base, {"inputs": records(x, class_names=names[:4]), "params": {"top_k": 2}})
        assert status == 200, answer
        assert [r["class_name"] in names[:4] for r in answer["predictions"]] == [True] * 6
        # Bad input: HTTP 400 whose message is the one-line cause, naming the limit where there is one.
        width = x.shape[1]
        for body, message in [
            ({"inputs": records(x[:, :10], class_names=names)},
             f"features have 10 values per row; this model takes {width} (both features)"),
            ({"dataframe_split": {"columns": list(range(width)), "data": x.tolist()}},
             "input columns (none): expected a features column of vectors, and optionally class_names and class_text"),
            ({"inputs": records(np.where(np.arange(width) == 3, np.nan, x), class_names=names)},
             f"features row 0 has non-finite values (NaN or ±inf); {len(x)} row(s) in all"),
            ({"inputs": records(x, class_names=[f"new sound {i}" for i in range(300)])},
             "class_names has 300 names that are not training classes; this server encodes at most 8 per request "
             "(limit AVGZSL_SERVE_MAX_NEW_CLASSES): send their class_text, or split the class list"),
        ]:
            status, answer = invoke(base, body)
            assert (status, answer.get("message")) == (400, message)
        deep = b'{"inputs": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
        status, answer = invoke(base, deep)
        assert (status, answer.get("message")) == (400, "the request's JSON nests more than 32 levels deep (limit "
                                                        "AVGZSL_SERVE_MAX_JSON_DEPTH); send a features column of vectors")
