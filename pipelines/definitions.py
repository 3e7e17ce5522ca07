"""The Dagster code location `avgzsl`: assets, checks, resources, jobs."""
import dagster as dg

from assets.evaluation import gzsl_evaluation
from assets.published import published_features
from assets.training import clipclap_stage1, clipclap_stage2
from pipelines.jobs import reproduce_job
from resources import MlflowResource, StateResource

defs = dg.Definitions(
    assets=[published_features, clipclap_stage1, clipclap_stage2, gzsl_evaluation],
    jobs=[reproduce_job],
    resources={"state": StateResource(), "mlflow": MlflowResource()},
    executor=dg.in_process_executor,
)
