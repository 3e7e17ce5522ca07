"""Jobs: asset selections users launch from the UI or the CLI (selected by stage, see assets.STAGES)."""
import dagster as dg

from assets import PUBLISHED, STAGES, asset_names

reproduce_published = dg.define_asset_job(
    name="reproduce_published", selection=dg.AssetSelection.assets(*PUBLISHED),
    description="The paper's protocol on the authors' published features: import → stage 1 → stage 2 → evaluation.",
)
video_manifest_job = dg.define_asset_job(
    name="video_manifest_job", selection=dg.AssetSelection.assets(*STAGES["manifest"]),
    description="Fetch/validate a dataset's split files, build its per-video manifest and register its shards.",
)
acquire_media = dg.define_asset_job(
    name="acquire_media", selection=dg.AssetSelection.assets(*asset_names("download", "split", "features")),
    description="Download, split and encode the videos of a range of shards (one run per range).",
)
train_extracted = dg.define_asset_job(
    name="train_extracted", selection=dg.AssetSelection.assets(*asset_names("embeddings", "train", "evaluate")),
    description="Class embeddings and the dataset's feature tables, then the two-stage protocol and evaluation.",
)
JOBS = [reproduce_published, video_manifest_job, acquire_media, train_extracted]
