"""The asset catalogue: every asset of the DAG, grouped by the pipeline stage it belongs to.

Jobs, schedules, sensors and the CLI select assets through ``STAGES`` (its stages:
``avgzsl.names.PIPELINE_STAGES``) or import them from here; nothing else lists asset names.
"""
import dagster as dg

from assets.evaluation import gzsl_evaluation, gzsl_results
from assets.features import audio_features, class_embeddings, extracted_features, visual_features
from assets.media import media_split, raw_videos, video_manifest
from assets.predictions import predictions
from assets.published import published_features
from assets.training import clipclap_stage1, clipclap_stage2
from avgzsl.names import SHARD_STAGES

# Stage → its assets, in pipeline order: the stages of avgzsl.names.PIPELINE_STAGES (shard stages per
# shard, ``embeddings`` per dataset, ``train`` and ``evaluate`` per run), plus ``manifest``, ``published``,
# ``results`` and ``predict`` (new videos of the dataset's inbox, with its model) per dataset.
STAGES = {
    "manifest": (video_manifest,),
    "download": (raw_videos,),
    "split": (media_split,),
    "features": (visual_features, audio_features),
    "embeddings": (class_embeddings, extracted_features),
    "published": (published_features,),
    "train": (clipclap_stage1, clipclap_stage2),
    "evaluate": (gzsl_evaluation,),
    "results": (gzsl_results,),
    "predict": (predictions,),
}
ALL_ASSETS = [a for stage in STAGES.values() for a in stage]


def asset_names(*stages: str) -> list[str]:
    """The asset keys of the given stages, in pipeline order."""
    return [a.key.to_user_string() for stage in stages for a in STAGES[stage]]


def asset_config(asset: dg.AssetsDefinition, config: dict) -> dict:
    """The run config that gives ``asset`` its config."""
    return {"ops": {asset.op.name: {"config": config}}}


SHARD_ASSETS = tuple(asset_names(*SHARD_STAGES))
FEATURE_ASSETS = tuple(asset_names("features"))
