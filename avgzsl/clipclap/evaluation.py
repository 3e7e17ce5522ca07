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
from avgzsl.names import STREAMS, TEST, VALIDATION

LOOKUP_NOTE = {
    "name": "class text embeddings looked up by class name (correct)",
    "positional": "class text embeddings looked up by position: the authors' defect, reproduced on purpose",
}


@dataclass
class EvaluationOutputs:
    metrics: dict
    metrics_path: Path
    predictions_path: Path
    report_path: Path
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


def headline(dataset: str, variant: str, metrics: dict) -> str:
    """One line: the run, its test HM with S and U, ZSL, and the paper's where the dataset is a benchmark."""
    def scores(m: dict) -> str:
        return (f"HM {100 * m['test_hm']:.2f}% (S {100 * m['test_seen']:.2f}%, U {100 * m['test_unseen']:.2f}%), "
                f"ZSL {100 * m['test_zsl']:.2f}%")

    paper = PAPER_RESULTS.get(dataset)
    return f"{dataset} · {variant}: {scores(metrics)}" + (f" — paper: {scores(paper)}" if paper else "")


def evaluate_run(data: ProtocolData, stage1_model: Path, stage2_model: Path, summaries: dict[int, dict],
                 settings: dict, dataset: str, out_dir: Path, provenance: dict[str, str] | None = None,
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
    out_dir = Path(out_dir)
    metrics_path, predictions_path = out_dir / "metrics.json", out_dir / "predictions.parquet"
    write_json_atomic(metrics, metrics_path)
    write_parquet_atomic(predictions, predictions_path)
    names = data.class_names
    seen = {names[i] for i, s in zip(test_scores.recall, _seen_flags(test_scores)) if s}
    figures = {
        "Training curves": report.curves_figure({f"stage {k}": summaries[k]["history"] for k in (1, 2)}),
        "β sweep on validation": report.beta_sweep_figure({k: v.tolist() for k, v in sweep.items()}, beta),
        "Per-class recall on test": report.recall_figure({names[i]: r for i, r in test_scores.recall.items()}, seen),
        "t-SNE of test videos": _tsne(second, data, test_scores, method),
    }
    report_path = report.write_report(
        out_dir / "report.html", f"ClipClap GZSL — {dataset}",
        {"Test (stage-2 model, validation β)": {k: metrics[k] for k in ("test_seen", "test_unseen", "test_hm", "test_zsl")},
         "Validation (stage-1 model, best epoch)": {k: metrics[k] for k in ("val_beta", "val_hm", "val_seen", "val_unseen",
                                                                           "val_zsl", "best_epoch", "stage1_epochs",
                                                                           "stage2_epochs")},
         "Run": {**settings, "dataset": dataset, "class embedding lookup": LOOKUP_NOTE[settings["text_lookup"]],
                 "input features": _features_note(settings["features"]), **(provenance or {})}},
        figures, headline=headline(dataset, variant or "run", metrics))
    return EvaluationOutputs(metrics, metrics_path, predictions_path, report_path, figures)


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


def _features_note(source: str) -> str:
    if source == "published":
        return "the authors' published CLIP/CLAP features"
    return "features extracted by this pipeline (encoder weights: see the feature files' metadata)"
