"""The Dagster code location `avgzsl`: assets, checks, resources, jobs, schedules, sensors."""
import os

import dagster as dg

from assets.evaluation import gzsl_evaluation
from assets.features import audio_features, class_embeddings, extracted_features, visual_features
from assets.media import media_split, raw_videos, video_manifest
from assets.published import published_features
from assets.training import clipclap_stage1, clipclap_stage2
from pipelines.jobs import acquire_job, manifest_job, reproduce_job, train_extracted_job
from pipelines.schedules import schedules
from pipelines.sensors import sensors
from resources import AudioEncoderResource, MediaResource, MlflowResource, StateResource, VisualEncoderResource


def _executor(name: str):
    """AVGZSL_EXECUTOR: in_process (default) | multiprocess | dask | k8s (see docs/operating.md)."""
    if name == "dask":
        from pipelines.dask_jobs import dask_executor  # dagster-dask's, fixed for partitioned/subset runs
        return dask_executor
    if name == "k8s":
        from dagster_k8s import k8s_job_executor
        return k8s_job_executor
    if name not in ("in_process", "multiprocess"):
        raise ValueError(f"AVGZSL_EXECUTOR={name!r}: expected in_process, multiprocess, dask or k8s")
    return dg.in_process_executor if name == "in_process" else dg.multiprocess_executor


defs = dg.Definitions(
    assets=[video_manifest, raw_videos, media_split, visual_features, audio_features, class_embeddings,
            extracted_features, published_features, clipclap_stage1, clipclap_stage2, gzsl_evaluation],
    jobs=[reproduce_job, manifest_job, acquire_job, train_extracted_job],
    resources={"state": StateResource(), "mlflow": MlflowResource(), "media": MediaResource(),
               "visual_encoder": VisualEncoderResource(), "audio_encoder": AudioEncoderResource()},
    schedules=schedules,
    sensors=sensors,
    executor=_executor(os.environ.get("AVGZSL_EXECUTOR", "in_process")),
)
