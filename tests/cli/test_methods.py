"""Methods through the CLI: a sweep of two methods, one of them the plug-in of docs/methods.md; bad methods refused."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from pipelines.cli import main

DOCS = Path(__file__).resolve().parents[2] / "docs" / "methods.md"
PLUGIN = "tiny_method:TinyMethod"


def first_python_block(text: str) -> str:
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """The first Python block of docs/methods.md saved as tiny_method.py, importable (the working directory)."""
    import sys

    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "tiny_method.py").write_text(first_python_block(DOCS.read_text()))
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    sys.modules.pop("tiny_method", None)


def sweep_args(root, out, *extra):
    return ["sweep", "--dataset", "ucf", "--features-root", str(root), "--report-dir", str(out), "--seeds", "1",
            "--epochs", "1", "--batches-per-epoch", "3", "--batch-size", "16", "--json", *extra]


@pytest.mark.slow
def test_a_sweep_of_a_baseline_and_the_documented_plugin_trains_predicts_and_serves_both(
        state_home, tiny_authors_root, plugin, tmp_path, capsys):
    import mlflow

    from avgzsl.clipclap.predictor import Predictor

    assert "class TinyMethod(Method)" in first_python_block(DOCS.read_text())
    out = tmp_path / "out"
    assert main(sweep_args(tiny_authors_root, out, "--method", f"avca,{PLUGIN}")) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["trained"], summary["failed"]) == (2, 0)

    runs = pl.read_parquet(out / "runs.parquet")
    assert sorted(runs["method"].to_list()) == ["avca", PLUGIN] and runs["losses"].to_list() == ["", ""]
    assert sorted(pl.read_parquet(out / "results.parquet")["method"].to_list()) == ["avca", PLUGIN]
    variants = dict(zip(runs["method"], runs["variant"]))
    assert variants["avca"].startswith("avca_") and variants[PLUGIN].startswith("tiny-method:TinyMethod_")

    mlflow.set_tracking_uri(state_home.mlflow_uri)
    for method, variant in variants.items():
        metrics = json.loads((out / variant / "metrics.json").read_text())
        assert metrics["method"] == method
        predictor = Predictor.load(state_home.run("ucf", variant).predictor_dir)
        dims = predictor.model.config.input_dim
        names = [c["class_name"] for c in predictor.seen_classes]
        text, seen = predictor.class_text(names)
        cols, dist = predictor.rank(np.zeros((2, dims), np.float32), text, seen, top_k=3)
        assert cols.shape == (2, 3) and np.isfinite(dist).all()
        run_id = runs.filter(pl.col("method") == method)["mlflow_run_id"][0]
        logged = [m for m in mlflow.search_logged_models(output_format="list", experiment_ids=[
            mlflow.get_experiment_by_name("avgzsl-ucf").experiment_id]) if m.source_run_id == run_id]
        served = mlflow.pyfunc.load_model(logged[0].model_uri)
        table = pd.DataFrame({"features": list(np.zeros((2, dims), np.float32)), "class_names": [names, names]})
        ranking = served.predict(table, params={"top_k": 2})
        assert len(ranking) == 4 and set(ranking["class_name"]) <= set(names)


@pytest.mark.parametrize("extra, message", [
    (["--method", "clipclap,clapclip"], "'clapclip' is unknown: expected one of clipclap, cjme, avgzslnet, avca"),
    (["--method", "no_such_module:Thing"], "module 'no_such_module' failed to import"),
    (["--method", "cjme", "--losses", "reg"], "method cjme has no loss sets"),
    (["--method", "avca", "--modality", "audio"], "method avca takes both"),
])
def test_bad_methods_are_refused_in_one_line_before_anything_trains(state_home, tiny_authors_root, tmp_path, capsys,
                                                                    extra, message):
    code = main(sweep_args(tiny_authors_root, tmp_path / "out", *extra))
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and message in err[0] and "Traceback" not in err[0]
    assert not (state_home.runs_dir / "ucf").exists() and not (tmp_path / "out").exists()
