"""The asset catalogue: every asset of the DAG, grouped by the pipeline stage it belongs to.

Jobs, schedules, sensors and the CLI's ``--until`` select assets through ``STAGES``;
nothing else lists asset names.
"""
from assets.evaluation import gzsl_evaluation
from assets.features import audio_features, class_embeddings, extracted_features, visual_features
from assets.media import media_split, raw_videos, video_manifest
from assets.published import published_features
from assets.training import clipclap_stage1, clipclap_stage2

# Stage → its assets, in pipeline order.  The first three run per shard, the rest per dataset.
STAGES = {
    "manifest": (video_manifest,),
    "download": (raw_videos,),
    "split": (media_split,),
    "features": (visual_features, audio_features),
    "embeddings": (class_embeddings,),
    "train": (extracted_features, clipclap_stage1, clipclap_stage2),
    "evaluate": (gzsl_evaluation,),
}
SHARD_STAGES = ("download", "split", "features")
PUBLISHED = (published_features, clipclap_stage1, clipclap_stage2, gzsl_evaluation)
ALL_ASSETS = list(dict.fromkeys([a for stage in STAGES.values() for a in stage] + list(PUBLISHED)))


def asset_names(*stages: str) -> list[str]:
    """The asset keys of the given stages, in pipeline order."""
    return [a.key.to_user_string() for stage in stages for a in STAGES[stage]]


SHARD_ASSETS = tuple(asset_names(*SHARD_STAGES))
FEATURE_ASSETS = tuple(asset_names("features"))
