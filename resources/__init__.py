"""Dagster resources: the state folder, MLflow tracking, media settings, encoders."""
from resources.encoders import AudioEncoderResource, VisualEncoderResource
from resources.media import MediaResource
from resources.mlflow import MlflowResource
from resources.state import StateResource

__all__ = ["AudioEncoderResource", "MediaResource", "MlflowResource", "StateResource", "VisualEncoderResource"]
