"""Zero-shot predictions for the new videos of a dataset's inbox, with its trained model (docs/predict.md)."""
from typing import Optional

import dagster as dg
from pydantic import Field

from assets.evaluation import gzsl_evaluation
from assets.partitions import BY_DATASET, dataset_partitions
from avgzsl.clipclap.predictor import Predictor
from avgzsl.predict import predict, predictions_markdown, read_class_file, write_predictions
from resources import MediaResource, MlflowResource, StateResource

CLASSES_FILE = "classes.txt"


class PredictionsConfig(dg.Config):
    model: Optional[str] = Field(default=None, description="a run folder or an MLflow model URI; default: the "
                                                           "dataset's promoted model (`avgzsl promote`)")
    classes: list[str] = Field(default_factory=list, description=f"class names to rank; default: the inbox's "
                                                                  f"{CLASSES_FILE} (one per line)")
    top_k: int = 5
    weights: Optional[str] = Field(default=None, description="pretrained | random, checked against the weights the "
                                                             "model was trained on; default: the model's")
    device: str = "auto"


@dg.asset(partitions_def=dataset_partitions, group_name="predict", kinds={"pytorch", "parquet"},
          owners=["team:avgzsl"], pool="gpu", deps=[dg.AssetDep(gzsl_evaluation, partition_mapping=BY_DATASET)],
          description="The videos in <state>/inbox/<dataset>/ classified among the class names of its classes.txt "
                      "by the dataset's trained model: fetched, split and encoded as the DAG does, ranked by "
                      "calibrated stacking; predictions/<dataset>/predictions.parquet.")
def predictions(context: dg.AssetExecutionContext, config: PredictionsConfig, state: StateResource,
                mlflow: MlflowResource, media: MediaResource) -> dg.MaterializeResult:
    dataset, layout = context.partition_key, state.layout()
    inbox = layout.inbox(dataset)
    if not inbox.is_dir():
        raise dg.Failure(f"{inbox} does not exist: put the videos to classify there, and their class names in "
                         f"{inbox / CLASSES_FILE}")
    names = config.classes or read_class_file(inbox / CLASSES_FILE)
    predictor = Predictor.load(mlflow.predictor_folder(config.model, dataset))
    output = predict(predictor, [str(inbox)], names, layout.predict_dir, top_k=config.top_k, weights=config.weights,
                     device=config.device, cache_dir=layout.models_dir, settings=media.settings())
    path = write_predictions(output, layout.predictions_file(dataset))
    s = output.summary
    context.log.info(f"{s['inputs']} videos: {s['predicted']} predicted, {s['failed']} failed ({s['model']})")
    return dg.MaterializeResult(metadata={
        "videos": s["inputs"], "predicted": s["predicted"], "failed": s["failed"], "classes": s["classes"],
        "seen_classes": s["seen_classes"], "top_k": s["top_k"], "beta": s["beta"], "model": s["model"],
        "predictions": dg.MetadataValue.md(predictions_markdown(output.table)),
        "path": dg.MetadataValue.path(str(path)),
    })
