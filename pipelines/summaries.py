"""The short summary a command ends with: a few lines for people, or one JSON line with ``--json``."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from avgzsl.clipclap.presets import PAPER_RESULTS
from avgzsl.experiments.provenance import CAVEAT, CAVEAT_HEADER, ORIGIN_KEY, caveat
from avgzsl.experiments.results import GROUP_FIELDS, METRICS, SHORT, cell
from avgzsl.experiments.spec import RunSpec
from avgzsl.names import MEDIA_STAGES


@dataclass
class Summary:
    lines: list[str]
    data: dict = field(default_factory=dict)
    code: int = 0

    def show(self, term, as_json: bool = False) -> None:
        for line in self.lines:
            term.print(line)
        if as_json:
            term.print(json.dumps(self.data, sort_keys=True, default=str))


def _scores(label: str, m: dict) -> str:
    return (f"  {label:<6} S {100 * m['test_seen']:6.2f}   U {100 * m['test_unseen']:6.2f}   "
            f"HM {100 * m['test_hm']:6.2f}   ZSL {100 * m['test_zsl']:6.2f}")


def metrics_lines(metrics: dict, spec: RunSpec, report: str | None, mlflow_run_id: str | None,
                  dagster_run_id: str | None) -> list[str]:
    """The result of one run: test S/U/HM/ZSL (%), the paper's beside it, β, where everything is."""
    lines = [f"{spec.dataset} · {spec.variant}   (test, %; β {metrics['val_beta']:.3f} chosen on validation, "
             f"class text looked up by {metrics['text_lookup']})"]
    paper = PAPER_RESULTS.get(spec.dataset) if (spec.method, spec.losses) == ("clipclap", "") else None
    if paper:
        lines.append(_scores("paper", paper))
    lines.append(_scores("ours", metrics))
    if "threads" in metrics:
        warning = caveat(metrics.get(ORIGIN_KEY, ""), spec.settings())
        lines.append(f"  {metrics.get(ORIGIN_KEY)} features, {metrics.get('protocol')} protocol, "
                     f"{metrics['threads']} torch thread(s) on {metrics.get('device')}"
                     + (f" — not the paper's setting: {warning}" if warning else ""))
    if mlflow_run_id:
        lines.append(f"mlflow run:  {mlflow_run_id}   (avgzsl ui)")
    if dagster_run_id:
        lines.append(f"dagster run: {dagster_run_id}")
    if report:
        lines.append(f"report: {report}")
    return lines


def _why(text: str) -> str:
    """A failed run's cause as one line: a damaged or read-only database of the state folder named with its fix."""
    from avgzsl.doctor import database_line
    from avgzsl.layout import StateLayout

    return database_line(text, StateLayout.resolve()) or text.strip().splitlines()[-1]


def single_run(out: dict, spec: RunSpec) -> Summary:
    if out["failed"]:
        return Summary([f"{spec.variant}: failed: {_why(why)}" for why in out["failures"].values()], out, code=1)
    run_id = out.get("dagster_run_ids", {}).get(spec.variant)
    lines = metrics_lines(out["metrics"], spec, out.get("report"), out.get("mlflow_run_id"), run_id)
    return Summary(lines, out["metrics"])


def sweep(out: dict, specs: list[RunSpec]) -> Summary:
    lines = [f"sweep of {len(specs)} runs: {out['trained']} trained, {out['skipped']} skipped, {out['failed']} failed "
             f"({out['parallel']} at once, {out['threads']} torch thread(s) each)"]
    lines += [f"failed: {variant}: {_why(why)}" for variant, why in out["failures"].items()]
    if out.get("mlflow_parent_run_id"):
        lines.append(f"mlflow parent run: {out['mlflow_parent_run_id']}   (avgzsl ui)")
    if out.get("backfill_id"):
        lines.append(f"dagster backfill: {out['backfill_id']}")
    lines += results_lines(out.get("table") or [])
    if "results" in out:
        lines += [f"results: {out['results']}", f"report: {out['html']}"]
    data = {k: v for k, v in out.items() if k != "failures"}
    return Summary(lines, data, code=1 if out["failed"] else 0)


def results_lines(rows: list[dict]) -> list[str]:
    """A sweep's table: one line per variant (the settings that vary), n, S/U/HM/ZSL mean ± std in %."""
    if not rows:
        return []
    varying = [f for f in GROUP_FIELDS if len({r[f] for r in rows}) > 1]
    labels = [", ".join(f"{f} {r[f]}" for f in varying) or "every run" for r in rows]
    cells = [[cell(r[f"{m}_mean"], r[f"{m}_std"], r["n"]).rsplit(" (", 1)[0] for m in METRICS] for r in rows]
    width = [max(len(x) for x in labels)] + [max(len(c[i]) for c in cells + [[SHORT[m] for m in METRICS]])
                                            for i in range(len(METRICS))]
    head = [(f"{'variant':<{width[0]}}   n   " + "   ".join(f"{SHORT[m]:<{w}}" for m, w in zip(METRICS, width[1:]))).rstrip()]
    body = [f"{label:<{width[0]}}  {r['n']:>2}   " + "   ".join(f"{c:<{w}}" for c, w in zip(row, width[1:]))
            + ("   *" if r.get(CAVEAT) else "") for label, r, row in zip(labels, rows, cells)]
    notes = sorted({r[CAVEAT] for r in rows if r.get(CAVEAT)})
    return (["test, % (mean ± std over seeds)"] + head + body
            + [f"* {CAVEAT_HEADER}: {note}" for note in notes])


def _why_failed(stage: dict, most: int = 2) -> str:
    """The commonest reasons of a stage's failed videos ('top_reasons' lists those first)."""
    left, shown = stage.get("failed") or 0, []
    for reason, count in stage.get("top_reasons") or []:
        if left <= 0 or len(shown) == most:
            break
        shown.append(f"{' '.join(str(reason).split())[:80]} ({count})")
        left -= count
    return f" — {'; '.join(shown)}" if shown else ""


def pipeline(summary: dict, spec: RunSpec | None, random_weights: bool = False) -> Summary:
    lines = []
    counted = [k for k in (*MEDIA_STAGES, *summary) if isinstance(summary.get(k), dict) and "ok" in summary[k]]
    for stage in dict.fromkeys(counted):  # the media stages, then the feature assets, in the summary's order
        s = summary[stage]
        lines.append(f"{stage}: {s.get('ok', 0)} ok" + (f", {s['failed']} failed" if "failed" in s else "")
                     + (f", {s['skipped']} skipped" if "skipped" in s else "")
                     + (f" ({s['weights']} weights)" if s.get("weights") else "") + _why_failed(s))
    if "embeddings" in summary:
        e = summary["embeddings"]
        lines.append(f"embeddings: {e.get('classes')} classes; feature tables: {e.get('videos')} videos with both "
                     f"vectors, {e.get('missing_videos')} without")
    if "train" in summary:
        t = summary["train"]
        lines.append(f"train: {t['trained']} trained, {t['skipped']} reused, {t['failed']} failed")
    evaluate = summary.get("evaluate")
    if evaluate and "test_hm" in evaluate and spec is not None:
        lines += metrics_lines(evaluate, spec, evaluate.get("report"), evaluate.get("mlflow_run_id"),
                               evaluate.get("dagster_run_id"))
        if random_weights:
            lines.append("(random encoder weights: these numbers only show that the pipeline runs)")
    code = 1 if summary.get("train", {}).get("failed") else 0
    return Summary(lines, summary, code=code)
