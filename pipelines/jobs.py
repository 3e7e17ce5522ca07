"""Jobs: asset selections users launch from the UI or the CLI."""
import dagster as dg

reproduce_job = dg.define_asset_job(
    name="reproduce_published",
    selection=dg.AssetSelection.assets("published_features", "clipclap_stage1", "clipclap_stage2", "gzsl_evaluation"),
    description="The paper's protocol on the authors' published features: import → stage 1 → stage 2 → evaluation.",
)
manifest_job = dg.define_asset_job(
    name="video_manifest_job", selection=dg.AssetSelection.assets("video_manifest"),
    description="Fetch/validate a dataset's split files, build its per-video manifest and register its shards.",
)
acquire_job = dg.define_asset_job(
    name="acquire_media",
    selection=dg.AssetSelection.assets("raw_videos", "media_split", "visual_features", "audio_features"),
    description="Download, split and encode the videos of a range of shards (one run per range).",
)
train_extracted_job = dg.define_asset_job(
    name="train_extracted",
    selection=dg.AssetSelection.assets("class_embeddings", "extracted_features", "clipclap_stage1",
                                       "clipclap_stage2", "gzsl_evaluation"),
    description="Class embeddings and the dataset's feature tables, then the two-stage protocol and evaluation.",
)
