"""Jobs: asset selections users launch from the UI or the CLI."""
import dagster as dg

from pipelines.partitions import dataset_partitions

reproduce_job = dg.define_asset_job(
    name="reproduce_published",
    selection=dg.AssetSelection.assets("published_features", "clipclap_stage1", "clipclap_stage2", "gzsl_evaluation"),
    partitions_def=dataset_partitions,
    description="The paper's protocol on the authors' published features: import → stage 1 → stage 2 → evaluation.",
)
