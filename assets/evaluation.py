"""Evaluation of a trained run: metrics.json, predictions.parquet and the HTML report."""

from pathlib import Path
from typing import Optional

import dagster as dg
from pydantic import Field

from assets.partitions import dataset_partitions
from assets.training import clipclap_stage1, clipclap_stage2
from assets.training_config import TrainingConfig
from avgzsl.clipclap.evaluation import evaluate_run, feature_provenance
from avgzsl.clipclap.report import markdown_table
from resources import MlflowResource, StateResource


class EvaluationConfig(TrainingConfig):
    report_dir: Optional[str] = Field(default=None, description="where metrics.json, predictions.parquet and "
                                                                "report.html go; default: the run's report/ folder")


@dg.asset(partitions_def=dataset_partitions, group_name="evaluation", deps=[clipclap_stage1, clipclap_stage2],
          kinds={"html", "mlflow"}, owners=["team:avgzsl"],
          description="GZSL test of the stage-2 model with the β chosen on validation: S, U, HM, ZSL, "
                      "per-class recall, predictions and a report.")
def gzsl_evaluation(context: dg.AssetExecutionContext, config: EvaluationConfig, state: StateResource,
                    mlflow: MlflowResource) -> dg.MaterializeResult:
    dataset, layout = context.partition_key, state.layout()
    spec = config.spec(dataset)
    files = config.run_files(layout, spec)
    summaries = {1: files.read_summary(1), 2: files.read_summary(2)}
    data = config.load_data(layout, spec)
    out_dir = Path(config.report_dir).expanduser().resolve() if config.report_dir else files.report_dir
    provenance = feature_provenance(layout.dataset(dataset).feature_tables(spec.features)[0])
    outputs = evaluate_run(data, files.stage_model(1), files.stage_model(2), summaries, spec.settings(), dataset,
                           out_dir, provenance)
    numeric = {k: v for k, v in outputs.metrics.items() if isinstance(v, (int, float))}
    with mlflow.run(dataset, context, run_id=summaries[1]["mlflow_run_id"]) as run:
        tracker = mlflow.client()
        tracker.log_metrics({k: float(v) for k, v in numeric.items()})
        tracker.log_artifacts(str(out_dir), artifact_path="report")
        logged = mlflow.log_clipclap(str(files.stage_model(2)), "clipclap_stage2", int(data.inputs.shape[1]))
        registry = mlflow.register_best(dataset, logged.model_uri, run.info.run_id, "test_hm",
                                        outputs.metrics["test_hm"])
    m = outputs.metrics
    context.log.info(f"test HM {m['test_hm']:.4f} (S {m['test_seen']:.4f}, U {m['test_unseen']:.4f}), "
                     f"ZSL {m['test_zsl']:.4f}, β {m['val_beta']:.3f}")
    return dg.MaterializeResult(metadata={
        "test_hm": m["test_hm"], "test_seen": m["test_seen"], "test_unseen": m["test_unseen"],
        "test_zsl": m["test_zsl"], "val_beta": m["val_beta"], "text_lookup": m["text_lookup"],
        "registered_model": f"{registry['registered_model']} v{registry['version']}"
                            f"{' (alias ' + registry['alias'] + ')' if registry['alias_moved'] else ''}",
        "metrics": dg.MetadataValue.md(markdown_table(outputs.metrics)),
        "report": dg.MetadataValue.path(str(outputs.report_path)),
        "metrics_path": dg.MetadataValue.path(str(outputs.metrics_path)),
        "predictions_path": dg.MetadataValue.path(str(outputs.predictions_path)),
        "mlflow_run": dg.MetadataValue.url(mlflow.run_url(run.info.run_id, dataset)),
    })
