"""Two-stage training of the run's method (ClipClap by default), one run partition (dataset × variant) at a time.

The run specification comes from the partition key (``RunSpec.from_variant``), so a
run's identity is never repeated in run config.
"""
from typing import Callable

import dagster as dg

from assets.features import extracted_features
from assets.partitions import BY_DATASET, run_partitions, spec_of
from assets.published import published_features
from avgzsl.clipclap.checkpoints import save_model
from avgzsl.clipclap.protocol import stage1, stage2
from avgzsl.clipclap.train import EpochRecord, StageResult
from avgzsl.data.store import write_json_atomic
from avgzsl.experiments.provenance import ORIGIN_KEY, run_facts
from avgzsl.experiments.runs import Run
from avgzsl.layout import RunFiles
from avgzsl.progress import emit
from avgzsl.runtime import current_threads
from resources import MlflowResource, StateResource, TrainingResource


def _epoch_logger(context: dg.AssetExecutionContext, mlflow, stage: str, run: Run, epochs: int):
    def log(record: EpochRecord) -> None:
        values = record.as_dict()
        step = values.pop("epoch")
        mlflow.log_metrics({f"{stage}_{k}": float(v) for k, v in values.items()}, step=step)
        emit("epoch", dataset=run.spec.dataset, variant=run.spec.variant, stage=stage, epoch=step + 1,
             epochs=epochs, loss=record.loss, val_hm=record.val_hm)
        context.log.info(f"{stage} epoch {step}: loss {record.loss:.4f}, val HM {record.val_hm:.4f} "
                         f"(S {record.val_seen:.4f}, U {record.val_unseen:.4f}, β {record.val_beta:.3f}), "
                         f"{record.seconds:.1f} s")
    return log


def _history_md(result: StageResult) -> str:
    rows = ["| epoch | loss | val S | val U | val HM | val ZSL | β | lr |", "|---|---|---|---|---|---|---|---|"]
    rows += [f"| {r.epoch} | {r.loss:.4f} | {r.val_seen:.4f} | {r.val_unseen:.4f} | {r.val_hm:.4f} | "
             f"{r.val_zsl:.4f} | {r.val_beta:.3f} | {r.lr:.2e} |" for r in result.history]
    return "\n".join(rows)


def _save_stage(files: RunFiles, stage: int, result: StageResult, extra: dict) -> None:
    save_model(result.model, files.stage_model(stage), extra={"stage": str(stage)})  # records the method
    summary = {"best_epoch": result.best_epoch, "history": [r.as_dict() for r in result.history], **extra}
    write_json_atomic(summary, files.stage_summary(stage))


RETRAIN_TAG = "avgzsl/retrain"  # "true": retrain a run even when it is current


def unchanged(context: dg.AssetExecutionContext, run: Run) -> dg.MaterializeResult | None:
    """A relaunch of a finished run on the same feature tables (:meth:`Run.current`) is skipped (as the CLI
    does): no new training, MLflow run or model version.  The run tag ``avgzsl/retrain=true`` forces the work."""
    if context.run.tags.get(RETRAIN_TAG) == "true" or not run.current():
        return None
    context.log.info(f"{context.partition_key} is current (evaluated on the same feature tables): skipped; "
                     f"tag the run {RETRAIN_TAG}=true to retrain")
    return dg.MaterializeResult(metadata={
        "skipped": f"current: evaluated on the same feature tables (tag {RETRAIN_TAG}=true to retrain)",
        "mlflow_run_id": str(run.files.read_summary(1).get("mlflow_run_id"))})


StepBody = Callable[[dg.AssetExecutionContext, Run, MlflowResource, TrainingResource], dg.MaterializeResult]


def run_step(**asset_args) -> Callable[[StepBody], dg.AssetsDefinition]:
    """A step of a run partition, as an asset named after ``body``: the run the partition names is opened once
    (:meth:`Run.open`) and handed to ``body``; a current run returns at once (:func:`unchanged`)."""
    def define(body: StepBody) -> dg.AssetsDefinition:
        @dg.asset(name=body.__name__, partitions_def=run_partitions, owners=["team:avgzsl"], **asset_args)
        def step(context: dg.AssetExecutionContext, state: StateResource, mlflow: MlflowResource,
                 training: TrainingResource) -> dg.MaterializeResult:
            run = Run.open(state.layout(), spec_of(context))
            skipped = unchanged(context, run)
            return skipped if skipped is not None else body(context, run, mlflow, training)
        step.__name__ = step.__qualname__ = f"{body.__name__}_step"  # tracebacks name the asset
        return step
    return define


_DEPS = [dg.AssetDep(published_features, partition_mapping=BY_DATASET),
         dg.AssetDep(extracted_features, partition_mapping=BY_DATASET)]


@run_step(group_name="training", deps=_DEPS, kinds={"pytorch", "mlflow"},
          description="Stage 1: train on stage_1_train, keep the epoch with the best validation HM; "
                      "its calibration β is chosen on validation.")
def clipclap_stage1(context: dg.AssetExecutionContext, run: Run, mlflow: MlflowResource,
                    training: TrainingResource) -> dg.MaterializeResult:
    spec, files = run.spec, run.files
    digest = run.digest()  # of the tables as they are read now, before anything is forgotten or trained
    data = run.data(training.setup())
    files.forget_evaluation()
    facts = run_facts(spec.settings(), run.tables[0], current_threads(), data.inputs.device)
    with mlflow.run(spec.dataset, context, run_name=spec.variant) as tracked:
        tracker = mlflow.client()
        tracker.log_params({**spec.settings(), "variant": spec.variant, "input_dim": data.inputs.shape[1],
                            "text_dim": data.text.shape[1], **facts})
        tracker.set_tags({f"avgzsl.{k}": facts[k] for k in (ORIGIN_KEY, "protocol")})
        result, val = stage1(data, spec.train_config(str(data.inputs.device)),
                             _epoch_logger(context, tracker, "stage1", run, spec.epochs), spec.method_object())
        val_scores = {"seen": val.seen, "unseen": val.unseen, "hm": val.hm, "zsl": val.zsl, "beta": val.beta}
        _save_stage(files, 1, result, {"val": val_scores, "settings": spec.settings(), "inputs": digest,
                                       "mlflow_run_id": tracked.info.run_id, "provenance": facts})
        tracker.log_artifact(str(files.stage_model(1)), artifact_path="models")
        tracker.log_metrics({"best_epoch": result.best_epoch, **{f"val_{k}": v for k, v in val_scores.items()}})
    return dg.MaterializeResult(metadata={
        "best_epoch": result.best_epoch, "val_hm": val.hm, "val_beta": val.beta, **facts,
        "epochs": dg.MetadataValue.md(_history_md(result)),
        "model_path": dg.MetadataValue.path(str(files.stage_model(1))),
        "mlflow_run_id": tracked.info.run_id,
        "mlflow_run": dg.MetadataValue.url(mlflow.run_url(tracked.info.run_id, spec.dataset)),
    })


@run_step(group_name="training", deps=[clipclap_stage1], kinds={"pytorch", "mlflow"},
          description="Stage 2: retrain from scratch on stage_1_train + validation for best_epoch + 1 epochs.")
def clipclap_stage2(context: dg.AssetExecutionContext, run: Run, mlflow: MlflowResource,
                    training: TrainingResource) -> dg.MaterializeResult:
    spec, files = run.spec, run.files  # a run without stage 1 is never current: its tables were not read
    first = files.read_summary(1)  # before the tables: that stage 1 is missing is said first
    with mlflow.run(spec.dataset, context, run_id=first["mlflow_run_id"]) as tracked:  # a failure inside: FAILED
        data = run.data(training.setup())
        tracker = mlflow.client()
        result = stage2(data, spec.train_config(str(data.inputs.device)), first["best_epoch"],
                        _epoch_logger(context, tracker, "stage2", run, first["best_epoch"] + 1),
                        spec.method_object())
        _save_stage(files, 2, result, {"mlflow_run_id": tracked.info.run_id, "threads": current_threads()})
        tracker.log_artifact(str(files.stage_model(2)), artifact_path="models")
        tracker.log_metric("stage2_epochs", len(result.history))
    return dg.MaterializeResult(metadata={
        "epochs_trained": len(result.history), "threads": current_threads(), "device": str(data.inputs.device),
        "epochs": dg.MetadataValue.md(_history_md(result)),
        "model_path": dg.MetadataValue.path(str(files.stage_model(2))),
        "mlflow_run": dg.MetadataValue.url(mlflow.run_url(tracked.info.run_id, spec.dataset)),
    })
