"""Dagster resources: the state folder, MLflow tracking, media settings, encoders, training device."""
from resources.encoders import AudioEncoderResource, VisualEncoderResource
from resources.media import MediaResource
from resources.mlflow import MlflowResource
from resources.state import StateResource
from resources.training import TrainingResource

__all__ = ["AudioEncoderResource", "MediaResource", "MlflowResource", "StateResource", "TrainingResource",
           "VisualEncoderResource"]
