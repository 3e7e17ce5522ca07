"""CLIP/CLAP features per shard, class text embeddings, and the dataset's extracted feature tables."""
from collections import Counter

import dagster as dg

from assets.checks import feature_check_results, feature_check_specs
from assets.partitions import dataset_partitions, shard_partitions
from assets.shards import ALL, run_shards
from avgzsl.data.datasets import shard_key
from avgzsl.data.store import file_metadata, read_features
from avgzsl.encoders.base import LazyEncoder
from avgzsl.experiments.provenance import FEATURE_ORIGINS, ORIGIN_KEY, table_origin
from avgzsl.features.class_embeddings import build_class_embeddings
from avgzsl.features.fingerprint import FINGERPRINT_KEY
from avgzsl.features.shards import encode_audio_shard, encode_visual_shard
from avgzsl.features.tables import assemble_features, read_vectors
from avgzsl.layout import DatasetPaths
from avgzsl.media.ledger import read_ledger
from avgzsl.names import AUDIO, VISUAL
from resources import AudioEncoderResource, MediaResource, StateResource, VisualEncoderResource


def _split_rows(paths: DatasetPaths, key: str) -> list[dict]:
    ledger = paths.ledger("split", key)
    if not ledger.exists():
        raise FileNotFoundError(f"{ledger} is missing: materialize media_split for shard {key} first")
    return read_ledger(ledger)


def _counts(out) -> tuple[int, int, int]:
    return (0 if out.skipped else out.encoded), len(out.failed), (out.encoded if out.skipped else 0)


def _feature_result(done: list, encoder: LazyEncoder) -> dg.MaterializeResult:
    """Per-video counts (ok / failed / skipped, as the media stages report them), per-shard counts, the encoder."""
    results = [out for _, _, out in done]
    failed = [f for r in results for f in r.failed]
    ok, _, skipped = (sum(c) for c in zip(*(_counts(r) for r in results))) if results else (0, 0, 0)
    lines = "\n".join(f"- `{vid}`: {why}" for vid, why in failed[:10]) or "none"
    reasons = Counter(why.rsplit(": ", 1)[-1] for _, why in failed).most_common(5)
    stored = next((r.path for r in results if r.path.exists()), None)
    info = (encoder.get().info.as_metadata() if encoder.built else
            {k: v for k, v in file_metadata(stored).items() if k != FINGERPRINT_KEY} if stored else encoder.identity)
    return dg.MaterializeResult(metadata={
        "ok": ok, "failed": len(failed), "skipped": skipped, "encoded": sum(r.encoded for r in results),
        "shards_recomputed": sum(not r.skipped for r in results), "shards_skipped": sum(r.skipped for r in results),
        "silent_audio": sum(r.silent for r in results), "failures": dg.MetadataValue.md(lines),
        "top_reasons": dg.MetadataValue.json([list(r) for r in reasons]),
        "path": dg.MetadataValue.path(str(results[0].path.parent) if results else ""),
        "encoder": dg.MetadataValue.json(info), "weights": info.get("weights", ""),
        "model_name": info.get("model_name", ""), "encoder_built": encoder.built,
    })


@dg.asset(partitions_def=shard_partitions, group_name="features", kinds={"pytorch", "parquet"},
          owners=["team:avgzsl"], deps=["media_split"], pool="gpu", backfill_policy=dg.BackfillPolicy.single_run(),
          description="CLIP image embedding of each video's middle frame (L2-normalised), one Parquet file per shard.")
def visual_features(context: dg.AssetExecutionContext, state: StateResource, media: MediaResource,
                    visual_encoder: VisualEncoderResource) -> dg.MaterializeResult:
    encoder = visual_encoder.lazy()  # built only if a shard changed

    def work(spec, paths, index, settings):
        key = shard_key(spec.name, index)
        return encode_visual_shard(encoder, _split_rows(paths, key), paths.feature_shard(VISUAL, key),
                                   visual_encoder.prefetch_workers)

    return _feature_result(run_shards(context, state, media, "encode visual", work, _counts, parallel=1), encoder)


@dg.asset(partitions_def=shard_partitions, group_name="features", kinds={"pytorch", "parquet"},
          owners=["team:avgzsl"], deps=["media_split"], pool="gpu", backfill_policy=dg.BackfillPolicy.single_run(),
          description="CLAP audio embedding of each video's audio (centre 10 s, zero-padded; silence when the "
                      "video has no audio track), one Parquet file per shard.")
def audio_features(context: dg.AssetExecutionContext, state: StateResource, media: MediaResource,
                   audio_encoder: AudioEncoderResource) -> dg.MaterializeResult:
    encoder = audio_encoder.lazy()  # built only if a shard changed

    def work(spec, paths, index, settings):
        key = shard_key(spec.name, index)
        return encode_audio_shard(encoder, _split_rows(paths, key), paths.feature_shard(AUDIO, key),
                                  paths.silence, audio_encoder.prefetch_workers)

    return _feature_result(run_shards(context, state, media, "encode audio", work, _counts, parallel=1), encoder)


@dg.asset(partitions_def=dataset_partitions, group_name="features", kinds={"pytorch", "parquet"},
          owners=["team:avgzsl"], deps=[dg.AssetDep("video_manifest")], pool="gpu",
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
        "path": dg.MetadataValue.path(str(out.path)),
    })


@dg.asset(partitions_def=dataset_partitions, group_name="features", kinds={"parquet"}, owners=["team:avgzsl"],
          deps=[dg.AssetDep("visual_features", partition_mapping=ALL),
                dg.AssetDep("audio_features", partition_mapping=ALL), class_embeddings],
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
    origin = table_origin(summary["metadata"])
    return dg.MaterializeResult(check_results=checks, metadata={
        "videos": summary["videos"], "missing_videos": summary["missing"],
        ORIGIN_KEY: origin, "features": FEATURE_ORIGINS[origin],
        "visual_weights": summary["metadata"].get(f"{VISUAL}.weights", ""),
        "audio_weights": summary["metadata"].get(f"{AUDIO}.weights", ""),
        "path": dg.MetadataValue.path(str(out)),
    })
