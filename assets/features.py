"""CLIP/CLAP features per shard, class text embeddings, and the dataset's extracted feature tables."""
import dagster as dg

from assets.checks import feature_check_results, feature_check_specs
from assets.media import media_split, video_manifest
from assets.outcomes import outcome_metadata
from assets.partitions import dataset_partitions, shard_partitions
from assets.shards import ALL, run_shards
from avgzsl.data.datasets import shard_key
from avgzsl.data.store import read_features
from avgzsl.experiments.provenance import FEATURE_ORIGINS, ORIGIN_KEY, table_origin
from avgzsl.features.class_embeddings import build_class_embeddings
from avgzsl.features.shards import FeatureStageSummary, encode_shard, shard_counts
from avgzsl.features.tables import assemble_features, read_vectors
from avgzsl.layout import DatasetPaths
from avgzsl.media.ledger import read_ledger
from avgzsl.names import AUDIO, VISUAL
from resources import AudioEncoderResource, StateResource, VisualEncoderResource


def _split_rows(paths: DatasetPaths, key: str) -> list[dict]:
    ledger = paths.ledger("split", key)
    if not ledger.exists():
        raise FileNotFoundError(f"{ledger} is missing: materialize media_split for shard {key} first")
    return read_ledger(ledger)


def _feature_result(summary: FeatureStageSummary) -> dg.MaterializeResult:
    lines = "\n".join(f"- `{vid}`: {why}" for vid, why in summary.failures) or "none"
    return dg.MaterializeResult(metadata={
        "ok": summary.ok, "failed": summary.failed, "skipped": summary.skipped, "encoded": summary.encoded,
        "shards_recomputed": summary.shards_recomputed, "shards_skipped": summary.shards_skipped,
        "silent_audio": summary.silent_audio, "failures": dg.MetadataValue.md(lines),
        "top_reasons": dg.MetadataValue.json(summary.top_reasons),
        "path": dg.MetadataValue.path(summary.path),
        "encoder": dg.MetadataValue.json(summary.encoder), "weights": summary.weights,
        "model_name": summary.model_name, "encoder_built": summary.encoder_built, **outcome_metadata(summary),
    })


def _feature_asset(stream: str, encoder_key: str, description: str) -> dg.AssetsDefinition:
    """The ``<stream>_features`` asset: one Parquet file per shard, through the ``encoder_key`` resource."""

    @dg.asset(name=f"{stream}_features", partitions_def=shard_partitions, group_name="features",
              kinds={"pytorch", "parquet"}, owners=["team:avgzsl"], deps=[media_split], pool="gpu",
              backfill_policy=dg.BackfillPolicy.single_run(), description=description,
              required_resource_keys={"state", "media", encoder_key})
    def features(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        resource = getattr(context.resources, encoder_key)
        encoder = resource.lazy()  # built only if a shard changed

        def work(spec, paths, index, settings):
            key = shard_key(spec.name, index)
            return encode_shard(stream, encoder, _split_rows(paths, key), paths, key, resource.prefetch_workers)

        done = run_shards(context, context.resources.state, context.resources.media, f"encode {stream}", work,
                          shard_counts, parallel=1)
        return _feature_result(FeatureStageSummary.of([out for _, _, out in done], encoder))

    return features


visual_features = _feature_asset(
    VISUAL, "visual_encoder",
    "CLIP image embedding of each video's middle frame (L2-normalised), one Parquet file per shard.")
audio_features = _feature_asset(
    AUDIO, "audio_encoder",
    "CLAP audio embedding of each video's audio (centre 10 s, zero-padded; silence when the video has no audio "
    "track), one Parquet file per shard.")


@dg.asset(partitions_def=dataset_partitions, group_name="features", kinds={"pytorch", "parquet"},
          owners=["team:avgzsl"], deps=[video_manifest], pool="gpu",
          description="Per class: the CLIP text embedding of the visual prompt ensemble and the CLAP text embedding "
                      "of the audio prompt ensemble (normalised means), recomputed when classes, prompts or "
                      "encoders change.")
def class_embeddings(context: dg.AssetExecutionContext, state: StateResource,
                     visual_encoder: VisualEncoderResource, audio_encoder: AudioEncoderResource) -> dg.MaterializeResult:
    paths = state.layout().dataset(context.partition_key)
    out = build_class_embeddings(paths, visual_encoder.lazy(), audio_encoder.lazy(),
                                 paths.feature_tables("extracted")[1])
    return dg.MaterializeResult(metadata={
        "classes": out.classes, "skipped_unchanged": out.skipped, "prompt_set": out.prompt_set,
        "visual_prompts_per_class": out.visual_prompts_per_class,
        "audio_prompts_per_class": out.audio_prompts_per_class, "weights": out.weights,
        "path": dg.MetadataValue.path(str(out.path)), **outcome_metadata(out),
    })


@dg.asset(partitions_def=dataset_partitions, group_name="features", kinds={"parquet"}, owners=["team:avgzsl"],
          deps=[dg.AssetDep(visual_features, partition_mapping=ALL), dg.AssetDep(audio_features, partition_mapping=ALL),
                class_embeddings],
          check_specs=feature_check_specs("extracted_features"),
          description="The dataset's features table (one row per video with both vectors), next to its classes "
                      "table: what training reads with features=extracted.")
def extracted_features(context: dg.AssetExecutionContext, state: StateResource) -> dg.MaterializeResult:
    dataset = context.partition_key
    paths = state.layout().dataset(dataset)
    manifest = paths.read_manifest()
    shards = {shard_key(dataset, shard): set(rows["video_id"].to_list())
              for (shard,), rows in manifest.partition_by("shard", as_dict=True).items()}
    keys = sorted(shards)
    visual = read_vectors([paths.feature_shard(VISUAL, k) for k in keys], [shards[k] for k in keys])
    audio = read_vectors([paths.feature_shard(AUDIO, k) for k in keys], [shards[k] for k in keys])
    out, classes = paths.feature_tables("extracted")
    summary = assemble_features(manifest.to_dicts(), visual, audio, out)
    checks = feature_check_results(read_features(out), read_features(classes)) if classes.exists() else []
    origin = table_origin(summary.metadata)
    return dg.MaterializeResult(check_results=checks, metadata={
        "videos": summary.videos, "missing_videos": summary.missing,
        ORIGIN_KEY: origin, "features": FEATURE_ORIGINS[origin],
        "visual_weights": summary.weights(VISUAL), "audio_weights": summary.weights(AUDIO),
        "path": dg.MetadataValue.path(str(out)), **outcome_metadata(summary),
    })
