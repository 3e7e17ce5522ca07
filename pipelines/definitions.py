"""The Dagster code location `avgzsl`: assets, checks, resources, jobs."""
import dagster as dg

from assets.evaluation import gzsl_evaluation
from assets.features import audio_features, class_embeddings, extracted_features, visual_features
from assets.media import media_split, raw_videos, video_manifest
from assets.published import published_features
from assets.training import clipclap_stage1, clipclap_stage2
from pipelines.jobs import acquire_job, manifest_job, reproduce_job, train_extracted_job
from resources import AudioEncoderResource, MediaResource, MlflowResource, StateResource, VisualEncoderResource

defs = dg.Definitions(
    assets=[video_manifest, raw_videos, media_split, visual_features, audio_features, class_embeddings,
            extracted_features, published_features, clipclap_stage1, clipclap_stage2, gzsl_evaluation],
    jobs=[reproduce_job, manifest_job, acquire_job, train_extracted_job],
    resources={"state": StateResource(), "mlflow": MlflowResource(), "media": MediaResource(),
               "visual_encoder": VisualEncoderResource(), "audio_encoder": AudioEncoderResource()},
    executor=dg.in_process_executor,
)
