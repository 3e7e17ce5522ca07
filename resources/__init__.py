"""Dagster resources: the state folder and MLflow tracking (encoders and media come later)."""
from resources.mlflow import MlflowResource
from resources.state import StateResource

__all__ = ["MlflowResource", "StateResource"]
