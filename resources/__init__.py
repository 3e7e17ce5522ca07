"""Dagster resources: the state folder, MLflow tracking, media acquisition settings."""
from resources.media import MediaResource
from resources.mlflow import MlflowResource
from resources.state import StateResource

__all__ = ["MediaResource", "MlflowResource", "StateResource"]
