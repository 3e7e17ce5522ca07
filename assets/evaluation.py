"""Evaluation of a trained run (its report files: avgzsl.layout.ReportFiles), and the results tables."""

import dagster as dg

from assets.partitions import BY_DATASET, dataset_partitions
from assets.training import clipclap_stage1, clipclap_stage2, run_step
from avgzsl.clipclap.evaluation import evaluate_run, feature_provenance
from avgzsl.clipclap.report import markdown_table
from avgzsl.experiments.provenance import ORIGIN_KEY, recorded_facts
from avgzsl.experiments.results import markdown, paper_tables, results_table, runs_table, write_results
from avgzsl.experiments.runs import Run, finished_runs
from resources import MlflowResource, StateResource, TrainingResource


@run_step(group_name="evaluation", deps=[clipclap_stage1, clipclap_stage2], kinds={"html", "mlflow"},
          description="GZSL test of the stage-2 model with the β chosen on validation: S, U, HM, ZSL, "
                      "per-class recall, predictions and a report, in the run's report/ folder.")
def gzsl_evaluation(context: dg.AssetExecutionContext, run: Run, mlflow: MlflowResource,
                    training: TrainingResource) -> dg.MaterializeResult:
    spec, files = run.spec, run.files
    summaries = {1: files.read_summary(1), 2: files.read_summary(2)}
    with mlflow.run(spec.dataset, context, run_id=summaries[1]["mlflow_run_id"]) as tracked:  # a failure: FAILED
        data = run.data(training.setup())
        provenance = {**feature_provenance(run.tables[0]), **recorded_facts(summaries)}
        outputs = evaluate_run(data, files.stage_model(1), files.stage_model(2), summaries, spec.settings(),
                               spec.dataset, files.report, provenance, variant=spec.variant)
        numeric = {k: v for k, v in outputs.metrics.items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)}
        tracker = mlflow.client()
        tracker.log_metrics({k: float(v) for k, v in numeric.items()})
        tracker.log_artifacts(str(files.report.root), artifact_path="report")
        predictor = run.write_predictor(data, outputs.metrics["val_beta"])
        logged = mlflow.log_clipclap(str(predictor), "clipclap_stage2")
        registry = mlflow.register(spec.dataset, logged.model_uri, tracked.info.run_id)
    m = outputs.metrics
    context.log.info(f"test HM {m['test_hm']:.4f} (S {m['test_seen']:.4f}, U {m['test_unseen']:.4f}), "
                     f"ZSL {m['test_zsl']:.4f}, β {m['val_beta']:.3f}")
    return dg.MaterializeResult(metadata={
        "test_hm": m["test_hm"], "test_seen": m["test_seen"], "test_unseen": m["test_unseen"],
        "test_zsl": m["test_zsl"], "val_beta": m["val_beta"], "text_lookup": m["text_lookup"],
        **{k: m[k] for k in (ORIGIN_KEY, "protocol", "protocol_changes", "threads", "device") if k in m},
        "registered_model": f"{registry['registered_model']} v{registry['version']}"
                            f"{' (promoted)' if registry['promoted'] else ''}",
        "metrics": dg.MetadataValue.md(markdown_table(outputs.metrics)),
        "report": dg.MetadataValue.path(str(outputs.files.page)),
        "metrics_path": dg.MetadataValue.path(str(outputs.files.metrics)),
        "predictions_path": dg.MetadataValue.path(str(outputs.files.predictions)),
        "predictor_path": dg.MetadataValue.path(str(predictor)),
        "model_uri": logged.model_uri,
        "mlflow_run": dg.MetadataValue.url(mlflow.run_url(tracked.info.run_id, spec.dataset)),
    })


# After any evaluation of the dataset, however launched (CLI, UI, GraphQL, `dagster asset materialize`): the
# sensor `results_automation` (pipelines/sensors.py, on in `avgzsl ui`'s daemon) requests the refresh.
RESULTS_REFRESH = (dg.AutomationCondition.any_deps_updated().since_last_handled()
                   & ~dg.AutomationCondition.in_progress() & ~dg.AutomationCondition.any_deps_in_progress())


@dg.asset(partitions_def=dataset_partitions, group_name="evaluation", kinds={"parquet", "html"},
          deps=[dg.AssetDep(gzsl_evaluation, partition_mapping=BY_DATASET)], owners=["team:avgzsl"],
          automation_condition=RESULTS_REFRESH,
          description="The paper's tables over every evaluated run of the dataset: main result, modality, text "
                      "and lookup ablations, each cell mean ± std over seeds (n), the paper's numbers beside.")
def gzsl_results(context: dg.AssetExecutionContext, state: StateResource) -> dg.MaterializeResult:
    dataset, layout = context.partition_key, state.layout()
    outcomes = finished_runs(layout, dataset)
    if not outcomes:
        raise dg.Failure(f"no evaluated runs of dataset {dataset!r} yet: materialize gzsl_evaluation first")
    runs = runs_table([o.row() for o in outcomes])
    paths = write_results(layout.results_dir(dataset), runs, dataset)
    return dg.MaterializeResult(metadata={
        "runs": runs.height, "variants": results_table(runs).height,
        "tables": dg.MetadataValue.md(markdown(paper_tables(results_table(runs), dataset))),
        "results_path": dg.MetadataValue.path(str(paths["results"])),
        "runs_path": dg.MetadataValue.path(str(paths["runs"])),
        "report": dg.MetadataValue.path(str(paths["html"])),
    })
