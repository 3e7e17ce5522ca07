"""`avgzsl sweep`: variants as partitions, a sweep as one backfill, resumable, and the paper's tables."""
from __future__ import annotations

import json

import polars as pl
import pytest

from pipelines.cli import main

METRICS = ("test_seen", "test_unseen", "test_hm", "test_zsl")


def sweep(root, out, seeds, *extra):
    return ["sweep", "--dataset", "ucf", "--features-root", str(root), "--report-dir", str(out), "--seeds", seeds,
            "--modality", "audio,video,both", "--epochs", "2", "--batches-per-epoch", "10", "--json", *extra]


def last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_sweep_trains_each_variant_once_tabulates_them_and_grows_by_only_the_new_seed(
        state_home, tiny_authors_root, tmp_path, capsys):
    import dagster as dg
    import mlflow

    out = tmp_path / "out"
    assert main(sweep(tiny_authors_root, out, "1..2", "--parallel", "2")) == 0
    summary = last_json(capsys)
    assert (summary["trained"], summary["skipped"], summary["failed"]) == (6, 0, 0)
    assert summary["results"] == str(out / "results.parquet")

    runs = pl.read_parquet(out / "runs.parquet")
    assert runs.height == 6 and sorted(runs["modality"].unique()) == ["audio", "both", "visual"]
    for row in runs.iter_rows(named=True):
        metrics = json.loads((out / row["variant"] / "metrics.json").read_text())
        assert {m: row[m] for m in METRICS} == {m: metrics[m] for m in METRICS}
        assert row["mlflow_run_id"]
    results = pl.read_parquet(out / "results.parquet")
    assert results.height == 3 and results["n"].to_list() == [2, 2, 2]
    for row in results.iter_rows(named=True):
        mine = runs.filter(pl.col("modality") == row["modality"])
        for m in METRICS:
            assert row[f"{m}_mean"] == pytest.approx(mine[m].mean())
            assert row[f"{m}_std"] == pytest.approx(mine[m].std(ddof=1))
    assert "Modality ablation" in (out / "results.html").read_text()

    # The same sweep again trains nothing.
    assert main(sweep(tiny_authors_root, out, "1..2")) == 0
    again = last_json(capsys)
    assert (again["trained"], again["skipped"]) == (0, 6)

    # Adding a seed trains exactly the three new variants.
    assert main(sweep(tiny_authors_root, tmp_path / "out3", "1..3")) == 0
    grown = last_json(capsys)
    assert (grown["trained"], grown["skipped"]) == (3, 6)
    assert pl.read_parquet(tmp_path / "out3" / "runs.parquet").height == 9

    instance = dg.DagsterInstance.get()
    evaluated = instance.get_materialized_partitions(dg.AssetKey("gzsl_evaluation"))
    assert sorted(evaluated) == sorted(f"ucf|{m}s{seed}" for m in ("audio_", "visual_", "") for seed in (1, 2, 3))
    backfills = instance.get_backfills()
    assert len(backfills) == 2 and {b.status.value for b in backfills} == {"COMPLETED_SUCCESS"}
    runs_of_first = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": summary["backfill_id"]}))
    assert len(runs_of_first) == 6

    mlflow.set_tracking_uri(state_home.mlflow_uri)
    tracked = mlflow.search_runs(experiment_names=["avgzsl-ucf"], output_format="list")
    parents = [r for r in tracked if r.info.run_id in (summary["mlflow_parent_run_id"], grown["mlflow_parent_run_id"])]
    children = [r for r in tracked if r.data.tags.get("mlflow.parentRunId") == summary["mlflow_parent_run_id"]]
    assert len(parents) == 2 and len(children) == 6 and len(tracked) == 2 + 9


@pytest.mark.parametrize("args, message", [
    (["--seeds", "1..2", "--modality", "audio,smell"], "--modality 'smell'"),
    (["--seeds", "5..2"], "--seeds 5..2: the range is reversed"),
    (["--seeds", ","], "--seeds"),
    (["--seeds", "1", "--epochs", "-1"], "epochs -1"),
])
def test_bad_options_are_refused_before_anything_trains(state_home, tiny_authors_root, tmp_path, capsys, args,
                                                        message):
    code = main(["sweep", "--dataset", "ucf", "--features-root", str(tiny_authors_root), "--report-dir",
                 str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert code != 0 and message in err and "Traceback" not in err
    assert not (state_home.runs_dir / "ucf").exists() and not (tmp_path / "out").exists()


def test_a_features_root_without_split_files_is_refused_naming_the_missing_file(state_home, tiny_authors_root,
                                                                                 tmp_path, capsys):
    import shutil

    root = tmp_path / "UCF"
    shutil.copytree(tiny_authors_root, root)
    (root / "class-split" / "cls_split" / "stage_1_train.txt").unlink()
    code = main(["sweep", "--dataset", "ucf", "--features-root", str(root), "--report-dir", str(tmp_path / "out"),
                 "--seeds", "1..2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "stage_1_train.txt" in err[0] and err[0].startswith("avgzsl: error:")
    assert not (state_home.runs_dir / "ucf").exists()
