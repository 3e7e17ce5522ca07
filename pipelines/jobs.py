"""Jobs: asset selections by stage (see assets.STAGES), launched from the UI, the CLI and automation."""
import dagster as dg

from assets import asset_names
from avgzsl.names import RUN_STAGES


def _job(name: str, stages: tuple[str, ...], description: str):
    return dg.define_asset_job(name=name, selection=dg.AssetSelection.assets(*asset_names(*stages)),
                               description=description)


video_manifest_job = _job("video_manifest_job", ("manifest",),
                          "Fetch/validate a dataset's split files, build its manifest and register its shards.")
acquire_media = _job("acquire_media", ("download", "split", "features"),
                     "Download, split and encode the videos of a range of shards (one run per range).")
extract_tables = _job("extract_tables", ("embeddings",),
                      "Class text embeddings and the dataset's feature tables from its shards' features.")
import_published = _job("import_published", ("published",),
                        "The authors' published features of a dataset, imported and validated.")
train_variant = _job("train_variant", RUN_STAGES,
                     "One run (dataset × variant): stage 1 → stage 2 → evaluation. A sweep is a backfill of it.")
summarize_results = _job("summarize_results", ("results",),
                         "The paper's tables (mean ± std over seeds) over a dataset's evaluated runs.")
predict_inbox = _job("predict_inbox", ("predict",),
                     "Classify the videos of a dataset's inbox with its trained model (docs/predict.md).")
JOBS = [video_manifest_job, acquire_media, extract_tables, import_published, train_variant, summarize_results,
        predict_inbox]
