"""The authors' published features, imported into our Parquet tables."""
from typing import Optional

import dagster as dg
from pydantic import Field

from assets.checks import feature_check_results, feature_check_specs
from assets.partitions import dataset_partitions
from avgzsl.data.authors import import_authors_root
from avgzsl.data.store import write_parquet_atomic
from avgzsl.experiments.provenance import FEATURE_ORIGINS, ORIGIN_KEY
from avgzsl.names import AUDIO, VISUAL
from resources import StateResource


class PublishedFeaturesConfig(dg.Config):
    features_root: str = Field(description="Dataset root in the authors' layout (class-split/, features/).")
    benchmark: Optional[str] = Field(
        default=None, description="ucf | activitynet | vggsound: names the text files; default: the partition key.")
    split_folder: str = Field(default="cls_split", description="Folder under class-split/ holding the split lists.")


@dg.asset(
    partitions_def=dataset_partitions,
    group_name="published_features",
    kinds={"parquet", "python"},
    owners=["team:avgzsl"],
    check_specs=feature_check_specs("published_features"),
    description="Per-video CLIP/CLAP features and per-class text embeddings from the authors' published "
                "pickles (or a synthetic set in their layout, recorded as such), read with a restricted "
                "unpickler and validated, as Parquet tables.",
)
def published_features(context: dg.AssetExecutionContext, config: PublishedFeaturesConfig,
                       state: StateResource) -> dg.MaterializeResult:
    dataset = context.partition_key
    imported = import_authors_root(config.features_root, config.benchmark or dataset, config.split_folder)
    features_path, classes_path = state.layout().dataset(dataset).feature_tables("published")
    origin = imported.summary[ORIGIN_KEY]
    meta = {"source": "published", "features_root": str(config.features_root), ORIGIN_KEY: origin}
    write_parquet_atomic(imported.features, features_path, metadata=meta)
    write_parquet_atomic(imported.classes, classes_path, metadata=meta)
    counts = {split: int(n) for split, n in imported.summary.get("videos_per_split", {}).items()}
    context.log.info(f"imported {imported.features.num_rows} videos, {imported.classes.num_rows} classes: "
                     f"{FEATURE_ORIGINS[origin]}")
    return dg.MaterializeResult(check_results=feature_check_results(imported.features, imported.classes), metadata={
        ORIGIN_KEY: origin, "features": FEATURE_ORIGINS[origin],
        "videos": imported.features.num_rows,
        "classes": imported.classes.num_rows,
        "videos_per_split": dg.MetadataValue.json(counts),
        "visual_dim": imported.features.schema.field(VISUAL).type.list_size,
        "audio_dim": imported.features.schema.field(AUDIO).type.list_size,
        "features_path": dg.MetadataValue.path(str(features_path)),
        "classes_path": dg.MetadataValue.path(str(classes_path)),
        "features_root": dg.MetadataValue.path(str(config.features_root)),
    })
