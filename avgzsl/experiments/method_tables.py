"""Table 1 (every method) and Table 4 (ClipClap's loss sets) of results.html: ours beside the paper's."""
from __future__ import annotations

import polars as pl

from avgzsl.experiments.provenance import CAVEAT, CAVEAT_HEADER

from avgzsl.methods.clipclap import LOSS_SETS
from avgzsl.methods.published import PAPER_TABLE1, PAPER_TABLE4, UNVERIFIED
from avgzsl.methods.registry import BUILTIN

METRICS = ("test_seen", "test_unseen", "test_hm", "test_zsl")
SHORT = {"test_seen": "S (%)", "test_unseen": "U (%)", "test_hm": "HM (%)", "test_zsl": "ZSL (%)"}


def _cell(row: dict | None, paper: dict | None, metric: str, unverified: bool) -> str:
    ours = "not run"
    if row is not None:
        std = row[f"{metric}_std"]
        ours = f"{100 * row[f'{metric}_mean']:.2f}" + (f" ± {100 * std:.2f}" if std is not None else "") + \
            f" (n={row['n']})"
    value = (paper or {}).get(metric)
    if value is None:
        return ours
    return f"{ours} · paper {100 * value:.2f}" + (" (unverified)" if unverified else "")


def _rows(results: pl.DataFrame, column: str, values: list[str], defaults: dict, paper: dict,
          dataset: str) -> list[dict[str, str]]:
    fixed = results.filter(pl.all_horizontal([pl.col(k) == v for k, v in defaults.items()]))
    out = []
    for value in values:
        found = fixed.filter(pl.col(column) == value)
        row = next(found.iter_rows(named=True), None)
        out.append({column: value or "full loss", **{
            SHORT[m]: _cell(row, paper.get(value), m, (dataset, value, m) in UNVERIFIED) for m in METRICS},
            CAVEAT_HEADER: (row or {}).get(CAVEAT) or ""})
    return out


def method_tables(results: pl.DataFrame, dataset: str, defaults: dict) -> dict[str, list[dict[str, str]]]:
    """Table 1: every built-in method (and any other method run), full loss; Table 4: ClipClap's loss sets.

    ``defaults``: the ablation settings the tables hold fixed (the paper's run: both, both, name).
    Rows are the default run of each method (other settings such as epochs as run).
    """
    methods = list(BUILTIN) + [m for m in results["method"].unique(maintain_order=True) if m not in BUILTIN]
    table1 = _rows(results, "method", methods, {**defaults, "losses": ""}, PAPER_TABLE1.get(dataset, {}), dataset)
    sets = ["reg", "reg+ce", ""]
    paper4 = {k or "": v for k, v in PAPER_TABLE4.get(dataset, {}).items()}
    paper4[""] = paper4.pop("reg+ce+rec", None)
    assert set(LOSS_SETS) == {"reg", "reg+ce", "reg+ce+rec"}
    table4 = _rows(results, "losses", sets, {**defaults, "method": "clipclap"}, paper4, dataset)
    return {"Table 1: methods": table1, "Table 4: ClipClap's losses": table4}
