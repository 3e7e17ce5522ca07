"""The Dagster code location `avgzsl`: assembles assets, jobs, resources, schedules and sensors.

Only entry points import this module: ``workspace.yaml``, the CLI's launcher
(:mod:`pipelines.launch`) and the Dask worker entry (:mod:`pipelines.dask_jobs`).
"""
import os

import dagster as dg

from assets import ALL_ASSETS
from pipelines.executors import EXECUTOR_ENV, executor_named
from pipelines.jobs import JOBS
from pipelines.pools import install as calm_pool_waits
from pipelines.schedules import schedules
from pipelines.sensors import sensors
from resources import (AudioEncoderResource, MediaResource, MlflowResource, StateResource, TrainingResource,
                       VisualEncoderResource)

calm_pool_waits()  # run workers too (dagster dev): no busy wait, Ctrl-C obeyed, dead holders freed

state = StateResource.configure_at_launch()  # one state folder, shared with every resource that needs it
defs = dg.Definitions(
    assets=ALL_ASSETS,
    jobs=JOBS,
    resources={"state": state, "mlflow": MlflowResource(state=state), "media": MediaResource(),
               "visual_encoder": VisualEncoderResource(state=state), "audio_encoder": AudioEncoderResource(state=state),
               "training": TrainingResource()},
    schedules=schedules,
    sensors=sensors,
    executor=executor_named(os.environ.get(EXECUTOR_ENV, "in_process")),
)
