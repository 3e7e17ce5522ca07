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
    name="acquire_media", selection=dg.AssetSelection.assets("raw_videos", "media_split"),
    description="Download and split the videos of a range of shards (one run per range).",
)
