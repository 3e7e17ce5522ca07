"""The final evaluation of a trained run: metrics, predictions and the report."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from avgzsl.clipclap import metrics as ev
from avgzsl.clipclap import report
from avgzsl.clipclap.checkpoints import load_model
from avgzsl.clipclap.presets import PAPER_RESULTS
from avgzsl.clipclap.inputs import ProtocolData
from avgzsl.clipclap.protocol import final_test
from avgzsl.clipclap.train import EvalSplit, calibrate
from avgzsl.methods.registry import DEFAULT_METHOD, get_method
from avgzsl.data.store import file_metadata, write_json_atomic, write_parquet_atomic
from avgzsl.experiments.provenance import caveat, describe
from avgzsl.layout import ReportFiles
from avgzsl.names import STREAMS, TEST, VALIDATION

LOOKUP_NOTE = {
    "name": "class text embeddings looked up by class name (correct)",
    "positional": "class text embeddings looked up by position: the authors' defect, reproduced on purpose",
}


@dataclass
class EvaluationOutputs:
    metrics: dict
    files: ReportFiles
    figures: dict[str, bytes]


def feature_provenance(features_path: Path) -> dict[str, str]:
    """Which encoders and weights produced a features table (empty for the authors' features)."""
    meta = file_metadata(features_path)
    out = {}
    for side in STREAMS:
        if f"{side}.weights" in meta:
            out[f"{side}_encoder"] = (f"{meta.get(f'{side}.model_name', '?')} — {meta[f'{side}.weights']} weights "
                                      f"({meta.get(f'{side}.weights_tag', '')})")
    return out


def headline(dataset: str, variant: str, metrics: dict, settings: dict | None = None) -> str:
    """One line: the run, its test HM with S and U, ZSL, the paper's where the dataset is a benchmark, and
    why the run is not the paper's protocol on real features (``settings`` given and metrics.json's origin)."""
    def scores(m: dict) -> str:
        return (f"HM {100 * m['test_hm']:.2f}% (S {100 * m['test_seen']:.2f}%, U {100 * m['test_unseen']:.2f}%), "
                f"ZSL {100 * m['test_zsl']:.2f}%")

    is_paper_run = (metrics.get("method", "clipclap"), metrics.get("losses", "")) == ("clipclap", "")
    paper = PAPER_RESULTS.get(dataset) if is_paper_run else None  # other methods: results.html, Table 1
    warning = caveat(metrics.get("feature_origin", ""), {**settings, "dataset": dataset}) if settings else ""
    return (f"{dataset} · {variant}: {scores(metrics)}" + (f" — paper: {scores(paper)}" if paper else "")
            + (f" — not the paper's setting: {warning}" if warning else ""))


def evaluate_run(data: ProtocolData, stage1_model: Path, stage2_model: Path, summaries: dict[int, dict],
                 settings: dict, dataset: str, out: ReportFiles, provenance: dict[str, str] | None = None,
                 variant: str = "") -> EvaluationOutputs:
    """β from the stage-1 model on validation, then the stage-2 model on test; write everything."""
    dev = data.inputs.device
    method = get_method(settings.get("method") or DEFAULT_METHOD)
    first = load_model(stage1_model, device=str(dev), method=method.name)
    val_scores, sweep = calibrate(first, data, EvalSplit.of(data, VALIDATION), method)
    beta = val_scores.beta
    second = load_model(stage2_model, device=str(dev), method=method.name)
    test_scores, predictions = final_test(second, data, beta, method)
    metrics = {
        **ev.gzsl_metrics(test_scores, val_scores, summaries[1]["best_epoch"], len(summaries[1]["history"]),
                          len(summaries[2]["history"])),
        "dataset": dataset, "features": settings["features"], "modality": settings["modality"],
        "text": settings["text"], "text_lookup": settings["text_lookup"], "seed": settings["seed"],
        "method": method.name, "losses": settings.get("losses", ""),
        "test_videos": predictions.num_rows, **(provenance or {}),
    }
    write_json_atomic(metrics, out.metrics)
    write_parquet_atomic(predictions, out.predictions)
    names = data.class_names
    seen = {names[i] for i, s in zip(test_scores.recall, _seen_flags(test_scores)) if s}
    figures = {
        "Training curves": report.curves_figure({f"stage {k}": summaries[k]["history"] for k in (1, 2)}),
        "β sweep on validation": report.beta_sweep_figure({k: v.tolist() for k, v in sweep.items()}, beta),
        "Per-class recall on test": report.recall_figure({names[i]: r for i, r in test_scores.recall.items()}, seen),
        "t-SNE of test videos": _tsne(second, data, test_scores, method),
    }
    report.write_report(
        out.page, f"{'ClipClap' if method.name == 'clipclap' else method.name} GZSL — {dataset}",
        {"Test (stage-2 model, validation β)": report.percent(metrics, ("test_seen", "test_unseen", "test_hm",
                                                                       "test_zsl")),
         "Validation (stage-1 model, best epoch)": report.percent(metrics, ("val_beta", "val_hm", "val_seen",
                                                                           "val_unseen", "val_zsl", "best_epoch",
                                                                           "stage1_epochs", "stage2_epochs")),
         "Run": {**settings, "dataset": dataset, "class embedding lookup": LOOKUP_NOTE[settings["text_lookup"]],
                 **describe(provenance or {}), **(provenance or {})}},
        figures, headline=headline(dataset, variant or "run", metrics, settings), unit=report.PERCENT_NOTE)
    return EvaluationOutputs(metrics, out, figures)


def _tsne(model, data: ProtocolData, scores: ev.GzslScores, method) -> bytes:
    import torch

    split = EvalSplit.of(data, TEST)
    x = data.inputs[split.rows.to(data.inputs.device)]
    with torch.no_grad():
        theta = method.embed_videos(model.eval(), x)
    labels = data.labels[split.rows.to(data.labels.device)].cpu().numpy()
    return report.tsne_figure(x.cpu().numpy(), theta.cpu().numpy(), labels, data.class_names,
                              set(scores.recall_zsl))


def _seen_flags(scores: ev.GzslScores) -> list[bool]:
    return [cid not in scores.recall_zsl for cid in scores.recall]
