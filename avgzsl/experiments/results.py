"""The paper's tables from whatever runs exist: mean ± std over seeds for every ablation.

``runs`` holds one row per run (its settings, seed, the four test metrics, the MLflow
run id); ``results`` one row per variant without its seed (its settings, ``n`` and
``<metric>_mean`` / ``<metric>_std``, sample standard deviation, null for n = 1).  The
tables (main result, modality ablation, text ablation, class-embedding lookup) are
views of ``results``; where the dataset is a benchmark the paper's published numbers
stand beside ours, labelled as such.
"""
from __future__ import annotations

import html
from pathlib import Path

import polars as pl

from avgzsl.clipclap.presets import PAPER_CLIP_TEXT_HM, PAPER_RESULTS
from avgzsl.clipclap.report import figure_png, page
from avgzsl.data.store import write_parquet_atomic, write_text_atomic
from avgzsl.experiments.provenance import CAVEAT, CAVEAT_HEADER, ORIGIN_KEY, caveat
from avgzsl.experiments.spec import SPEC_FIELDS, RunSpec

METRICS: tuple[str, ...] = ("test_seen", "test_unseen", "test_hm", "test_zsl")
SHORT = {"test_seen": "S", "test_unseen": "U", "test_hm": "HM", "test_zsl": "ZSL"}
GROUP_FIELDS: tuple[str, ...] = tuple(f for f in SPEC_FIELDS if f != "seed")
ABLATIONS = ("modality", "text", "text_lookup")


def run_row(spec: RunSpec, metrics: dict, mlflow_run_id: str | None, report_dir: Path) -> dict:
    """One row of ``runs``: with its feature origin and, where it is not the paper's setting, why."""
    origin = metrics.get(ORIGIN_KEY, "")
    return {**spec.settings(), "variant": spec.variant, **{m: float(metrics[m]) for m in METRICS},
            ORIGIN_KEY: origin, CAVEAT: caveat(origin, spec.settings()),
            "mlflow_run_id": mlflow_run_id or "", "report": str(report_dir)}


def runs_table(rows: list[dict]) -> pl.DataFrame:
    if not rows:
        raise ValueError("no finished runs to tabulate")
    return pl.DataFrame(rows).sort("variant")


def results_table(runs: pl.DataFrame) -> pl.DataFrame:
    """Mean and sample std over seeds of every variant's four test metrics."""
    aggs = [pl.len().alias("n")] + [pl.col(c).unique().sort().str.join(" / ") for c in (ORIGIN_KEY, CAVEAT)
                                     if c in runs.columns]
    for m in METRICS:
        aggs += [pl.col(m).mean().alias(f"{m}_mean"), pl.col(m).std(ddof=1).alias(f"{m}_std")]
    return runs.group_by(list(GROUP_FIELDS), maintain_order=True).agg(aggs).sort(list(GROUP_FIELDS))


def cell(mean: float, std: float | None, n: int) -> str:
    """``55.97 ± 1.20 (n=5)`` in percent."""
    spread = f" ± {100 * std:.2f}" if std is not None else ""
    return f"{100 * mean:.2f}{spread} (n={n})"


def _label_columns(results: pl.DataFrame, shown: tuple[str, ...]) -> list[str]:
    """The settings that tell rows apart: the shown ablation plus whatever else varies."""
    varying = [f for f in GROUP_FIELDS if f not in ABLATIONS and f not in ("dataset", "method", "losses")
               and results[f].n_unique() > 1]
    return list(shown) + varying


def ablation_table(results: pl.DataFrame, dataset: str, vary: str | None) -> list[dict[str, str]]:
    """Rows of one paper table: the main result (``vary`` None) or one ablation, the others at the default."""
    fixed = {name: RunSpec.defaults(dataset)[name] for name in ABLATIONS} | {"method": "clipclap", "losses": ""}
    if vary:
        fixed.pop(vary)
    rows = results.filter(pl.all_horizontal([pl.col(k) == v for k, v in fixed.items()]))
    labels = _label_columns(results, (vary,) if vary else ())
    out = []
    for r in rows.iter_rows(named=True):
        label = ", ".join(f"{c} {r[c]}" for c in labels) or "both modalities, both texts, by name"
        out.append({"run": label, **{SHORT[m]: cell(r[f"{m}_mean"], r[f"{m}_std"], r["n"]) for m in METRICS},
                    CAVEAT_HEADER: r.get(CAVEAT) or ""})
    paper = PAPER_RESULTS.get(dataset)
    if paper and vary is None:
        out.append({"run": "paper (published, one seed)", **{SHORT[m]: f"{100 * paper[m]:.2f}" for m in METRICS},
                    CAVEAT_HEADER: ""})
    if dataset in PAPER_CLIP_TEXT_HM and vary == "text":
        out.append({"run": "paper, text clip (published)", "S": "", "U": "",
                    "HM": f"{100 * PAPER_CLIP_TEXT_HM[dataset]:.2f}", "ZSL": "", CAVEAT_HEADER: ""})
        out.append({"run": "paper, text both (published)", "S": "", "U": "",
                    "HM": f"{100 * PAPER_RESULTS[dataset]['test_hm']:.2f}", "ZSL": "", CAVEAT_HEADER: ""})
    return out


# Every page that tabulates runs states this above its tables.
UNIT_NOTE = ("Test scores in %, mean ± std over seeds (n). A row whose 'not the paper's setting' cell is filled "
             "used synthetic features or features from random encoder weights, or trained with other settings than "
             "the paper's (shortened: fewer epochs or batches): it is no result of the paper's protocol. The paper's "
             "published numbers stand beside ours for reference.")

TABLES = {"Main result": None, "Modality ablation": "modality", "Text ablation": "text",
          "Class-embedding lookup": "text_lookup"}


def paper_tables(results: pl.DataFrame, dataset: str) -> dict[str, list[dict[str, str]]]:
    """ClipClap's main result and ablations (Tables 2, 3), then Table 1 (methods) and Table 4 (losses)."""
    from avgzsl.experiments.method_tables import method_tables

    defaults = {name: RunSpec.defaults(dataset)[name] for name in ABLATIONS}
    return {**{title: ablation_table(results, dataset, vary) for title, vary in TABLES.items()},
            **method_tables(results, dataset, defaults)}


def markdown(tables: dict[str, list[dict[str, str]]]) -> str:
    """The tables as Markdown (Dagster metadata, the terminal)."""
    parts = []
    for title, rows in tables.items():
        parts.append(f"**{title}** (test, %, mean ± std over seeds)\n")
        if not rows:
            parts.append("_no runs of this kind yet_\n")
            continue
        head = list(rows[0])
        parts.append("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
        parts += ["| " + " | ".join(r[h] for h in head) + " |" for r in rows]
        parts.append("")
    return "\n".join(parts)


def hm_figure(runs: pl.DataFrame, dataset: str) -> bytes:
    """HM per variant: every seed's point, the mean and ± std."""
    import matplotlib.pyplot as plt

    groups = runs.with_columns(pl.col("variant").str.replace(r"_s\d+", "").alias("group")).partition_by(
        "group", as_dict=True, maintain_order=True)
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(groups) + 2), 4.5))
    for x, ((name,), rows) in enumerate(groups.items()):
        hm = (rows["test_hm"] * 100).to_list()
        ax.scatter([x] * len(hm), hm, s=18, color="tab:blue", alpha=0.7, zorder=3)
        std = float(pl.Series(hm).std()) if len(hm) > 1 else 0.0
        ax.errorbar([x], [sum(hm) / len(hm)], yerr=[std], fmt="_", color="k", markersize=18, capsize=6, zorder=4)
    if dataset in PAPER_RESULTS:
        ax.axhline(100 * PAPER_RESULTS[dataset]["test_hm"], color="tab:red", linestyle="--", label="paper (published)")
        ax.legend()
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([name for (name,) in groups], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("test HM (%)")
    ax.set_title(f"{dataset}: HM per variant (points: seeds; bar: mean ± std)")
    return figure_png(fig)


def write_results(out_dir: Path, runs: pl.DataFrame, dataset: str) -> dict[str, Path]:
    """``runs.parquet``, ``results.parquet`` and ``results.html`` into ``out_dir``."""
    out_dir = Path(out_dir)
    results = results_table(runs)
    paths = {"runs": out_dir / "runs.parquet", "results": out_dir / "results.parquet",
             "html": out_dir / "results.html"}
    for name in ("runs", "results"):
        write_parquet_atomic((runs if name == "runs" else results).to_arrow(), paths[name])
    tables = paper_tables(results, dataset)
    body = [f"<p><em>{html.escape(UNIT_NOTE)}</em></p>"]
    for title, rows in tables.items():
        body.append(f"<h2>{html.escape(title)}</h2>")
        if not rows:
            body.append("<p><em>no runs of this kind yet</em></p>")
            continue
        head = "".join(f"<th>{html.escape(h)}</th>" for h in rows[0])
        cells = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r.values()) + "</tr>" for r in rows)
        body.append(f"<table><tr>{head}</tr>{cells}</table>")
    write_text_atomic(page(f"ClipClap results — {dataset}", "".join(body),
                           {"HM per variant": hm_figure(runs, dataset)}), paths["html"])
    return paths
