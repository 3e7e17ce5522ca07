"""Jobs: asset selections users launch from the UI or the CLI."""
import dagster as dg


reproduce_job = dg.define_asset_job(
    name="reproduce_published",
    selection=dg.AssetSelection.assets("published_features", "clipclap_stage1", "clipclap_stage2", "gzsl_evaluation"),
    description="The paper's protocol on the authors' published features: import → stage 1 → stage 2 → evaluation.",
)
