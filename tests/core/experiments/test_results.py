"""The results tables (avgzsl.experiments.results): mean ± std over seeds, the paper's tables, the files."""
from __future__ import annotations

import polars as pl
import pytest

from avgzsl.clipclap.presets import PAPER_CLIP_TEXT_HM, PAPER_RESULTS
from avgzsl.experiments.results import (ablation_table, cell, markdown, paper_tables, results_table, run_row,
                                        runs_table, write_results)
from avgzsl.experiments.spec import RunSpec


def _row(hm: float, seed: int, dataset: str = "ucf", **settings) -> dict:
    spec = RunSpec(dataset, seed=seed, **settings)
    metrics = {"test_seen": hm + 0.1, "test_unseen": hm - 0.1, "test_hm": hm, "test_zsl": hm / 2,
               "feature_origin": "published"}  # the authors' features: no caveat unless a setting differs
    return run_row(spec, metrics,
                   f"mlflow-{seed}", f"/runs/{spec.variant}/report")


def test_each_variant_is_its_seeds_mean_and_sample_std():
    runs = runs_table([_row(0.50, 1), _row(0.60, 2), _row(0.40, 3), _row(0.30, 1, modality="audio")])
    results = results_table(runs)
    both = results.filter(pl.col("modality") == "both").row(0, named=True)
    assert both["n"] == 3 and both["test_hm_mean"] == pytest.approx(0.5) and both["test_hm_std"] == pytest.approx(0.1)
    audio = results.filter(pl.col("modality") == "audio").row(0, named=True)
    assert audio["n"] == 1 and audio["test_hm_mean"] == pytest.approx(0.3) and audio["test_hm_std"] is None
    assert "seed" not in results.columns and results.height == 2


def test_a_cell_is_percent_with_the_spread_and_the_count():
    assert cell(0.5597, 0.012, 5) == "55.97 ± 1.20 (n=5)"
    assert cell(0.5, None, 1) == "50.00 (n=1)"


def test_the_main_table_holds_the_default_variant_and_the_papers_row_beside_it():
    results = results_table(runs_table([_row(0.50, 1), _row(0.60, 2), _row(0.30, 1, modality="audio")]))
    main = ablation_table(results, "ucf", None)
    assert main[0] == {"run": "both modalities, both texts, by name", "S": "65.00 ± 7.07 (n=2)",
                       "U": "45.00 ± 7.07 (n=2)", "HM": "55.00 ± 7.07 (n=2)", "ZSL": "27.50 ± 3.54 (n=2)",
                       "not the paper's setting": ""}
    assert main[1]["run"] == "paper (published, one seed)" and main[1]["HM"] == f"{100 * PAPER_RESULTS['ucf']['test_hm']:.2f}"
    modality = ablation_table(results, "ucf", "modality")
    assert [r["run"] for r in modality] == ["modality audio", "modality both"]
    assert ablation_table(results, "my-birds", None)[-1]["run"] != "paper (published, one seed)"  # no paper numbers


def test_a_setting_that_varies_outside_the_ablations_labels_the_rows():
    results = results_table(runs_table([_row(0.5, 1, epochs=3), _row(0.6, 1, epochs=5)]))
    assert [r["run"] for r in ablation_table(results, "my-birds", None)] == ["epochs 3", "epochs 5"]


def test_the_text_table_shows_the_papers_clip_only_hm_where_it_was_published():
    results = results_table(runs_table([_row(0.5, 1), _row(0.4, 1, text="clip")]))
    text = ablation_table(results, "ucf", "text")
    assert [r["run"] for r in text] == ["text both", "text clip", "paper, text clip (published)",
                                        "paper, text both (published)"]
    assert text[2]["HM"] == f"{100 * PAPER_CLIP_TEXT_HM['ucf']:.2f}"
    assert len(ablation_table(results, "activitynet", "text")) == 2


def test_no_runs_is_an_error_and_an_empty_table_says_so():
    with pytest.raises(ValueError, match="no finished runs"):
        runs_table([])
    tables = paper_tables(results_table(runs_table([_row(0.5, 1)])), "my-birds")
    assert list(tables) == ["Main result", "Modality ablation", "Text ablation", "Class-embedding lookup",
                            "Table 1: methods", "Table 4: ClipClap's losses"]
    text = markdown(tables)
    assert "| both modalities, both texts, by name | 60.00 (n=1) |" in text and "_no runs" not in text
    audio_only = markdown(paper_tables(results_table(runs_table([_row(0.5, 1, modality="audio")])), "my-birds"))
    assert audio_only.count("_no runs of this kind yet_") == 3  # only the modality ablation has a row
    assert "| cjme | not run | not run | not run | not run |  |" in audio_only  # Table 1 lists every method
    assert "| modality audio | 60.00 (n=1) |" in audio_only


def test_the_results_files_hold_every_run_the_aggregate_and_the_page(tmp_path):
    runs = runs_table([_row(0.50, 2), _row(0.60, 1), _row(0.3, 1, text_lookup="positional")])
    paths = write_results(tmp_path / "out", runs, "ucf")
    assert {name: path.name for name, path in paths.items()} == {
        "runs": "runs.parquet", "results": "results.parquet", "html": "results.html"}
    stored = pl.read_parquet(paths["runs"])
    assert stored.equals(runs) and stored["variant"].to_list() == sorted(stored["variant"].to_list())
    assert pl.read_parquet(paths["results"])["n"].sort().to_list() == [1, 2]
    page = paths["html"].read_text()
    assert "ClipClap results — ucf" in page and "<h2>Class-embedding lookup</h2>" in page
    assert "55.00 ± 7.07 (n=2)" in page and "data:image/png;base64," in page
