"""The final evaluation of a trained run: metrics, predictions and the report."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from avgzsl import evaluate as ev
from avgzsl import report
from avgzsl.checkpoints import load_model
from avgzsl.data.store import write_json_atomic, write_parquet_atomic
from avgzsl.inputs import ProtocolData
from avgzsl.protocol import final_test
from avgzsl.train import EvalSplit, split_distances

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
    import pyarrow.parquet as pq

    meta = {k.decode(): v.decode() for k, v in (pq.read_schema(features_path).metadata or {}).items()}
    out = {}
    for side in ("visual", "audio"):
        if f"{side}.weights" in meta:
            out[f"{side}_encoder"] = (f"{meta.get(f'{side}.model_name', '?')} — {meta[f'{side}.weights']} weights "
                                      f"({meta.get(f'{side}.weights_tag', '')})")
    return out


def evaluate_run(data: ProtocolData, stage1_model: Path, stage2_model: Path, summaries: dict[int, dict],
                 settings: dict, dataset: str, out_dir: Path, provenance: dict[str, str] | None = None
                 ) -> EvaluationOutputs:
    """β from the stage-1 model on validation, then the stage-2 model on test; write everything."""
    dev = data.inputs.device
    first = load_model(stage1_model, device=str(dev))
    val = EvalSplit.of(data, "stage_1_val_seen", "stage_1_val_unseen")
    dist = split_distances(first, data, val)
    sweep = ev.sweep_betas(dist, val.true_cols.to(dist.device), val.candidates)
    pick = ev.best_beta(sweep)
    beta = float(sweep["beta"][pick])
    second = load_model(stage2_model, device=str(dev))
    test_scores, predictions = final_test(second, data, beta)
    metrics = {
        "test_seen": test_scores.seen, "test_unseen": test_scores.unseen, "test_hm": test_scores.hm,
        "test_zsl": test_scores.zsl, "val_beta": beta, "val_hm": float(sweep["hm"][pick]),
        "val_seen": float(sweep["seen"][pick]), "val_unseen": float(sweep["unseen"][pick]),
        "best_epoch": summaries[1]["best_epoch"], "stage1_epochs": len(summaries[1]["history"]),
        "stage2_epochs": len(summaries[2]["history"]),
        "dataset": dataset, "features": settings["features"], "modality": settings["modality"],
        "text": settings["text"], "text_lookup": settings["text_lookup"], "seed": settings["seed"],
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
        "t-SNE of test videos": _tsne(second, data, test_scores),
    }
    report_path = report.write_report(
        out_dir / "report.html", f"ClipClap GZSL — {dataset}",
        {"Test (stage-2 model, validation β)": {k: metrics[k] for k in ("test_seen", "test_unseen", "test_hm", "test_zsl")},
         "Validation (stage-1 model, best epoch)": {k: metrics[k] for k in ("val_beta", "val_hm", "val_seen", "val_unseen",
                                                                           "best_epoch", "stage1_epochs", "stage2_epochs")},
         "Run": {**settings, "dataset": dataset, "class embedding lookup": LOOKUP_NOTE[settings["text_lookup"]],
                 "input features": _features_note(settings["features"]), **(provenance or {})}},
        figures)
    return EvaluationOutputs(metrics, metrics_path, predictions_path, report_path, figures)


def _tsne(model, data: ProtocolData, scores: ev.GzslScores) -> bytes:
    import torch

    split = EvalSplit.of(data, "stage_2_test_seen", "stage_2_test_unseen")
    x = data.inputs[split.rows.to(data.inputs.device)]
    with torch.no_grad():
        theta = model.eval().embed_inputs(x)
    labels = data.labels[split.rows.to(data.labels.device)].cpu().numpy()
    return report.tsne_figure(x.cpu().numpy(), theta.cpu().numpy(), labels, data.class_names,
                              set(scores.recall_zsl))


def _seen_flags(scores: ev.GzslScores) -> list[bool]:
    return [cid not in scores.recall_zsl for cid in scores.recall]


def _features_note(source: str) -> str:
    if source == "published":
        return "the authors' published CLIP/CLAP features"
    return "features extracted by this pipeline (encoder weights: see the feature files' metadata)"
