"""CLIP/CLAP features per shard, class text embeddings, and the dataset's extracted feature tables."""
import json

import dagster as dg

from assets.media import ALL, _run_shards
from avgzsl.acquire import DatasetPaths
from avgzsl.data.splits import read_class_splits
from avgzsl.data.store import write_parquet_atomic
from avgzsl.datasets import shard_key
from avgzsl.encoders.prompts import audio_prompts, class_text_embeddings, visual_prompts
from avgzsl.features import (assemble_features, classes_table, encode_audio_shard, encode_visual_shard, fingerprint,
                             read_vectors, stored_fingerprint)
from avgzsl.media.ledger import read_ledger
from avgzsl.runs import feature_tables
from pipelines.partitions import dataset_partitions, shard_partitions
from resources import AudioEncoderResource, MediaResource, StateResource, VisualEncoderResource


def _split_rows(paths: DatasetPaths, key: str) -> list[dict]:
    ledger = paths.ledger("split", key)
    if not ledger.exists():
        raise FileNotFoundError(f"{ledger} is missing: materialize media_split for shard {key} first")
    return read_ledger(ledger)


def _feature_result(kind: str, done: list, encoder) -> dg.MaterializeResult:
    results = [out for _, _, out in done]
    failed = [f for r in results for f in r.failed]
    lines = "\n".join(f"- `{vid}`: {why}" for vid, why in failed[:10]) or "none"
    info = encoder.info.as_metadata()
    return dg.MaterializeResult(metadata={
        "encoded": sum(r.encoded for r in results), "failed": len(failed),
        "shards_recomputed": sum(not r.skipped for r in results), "shards_skipped": sum(r.skipped for r in results),
        "silent_audio": sum(r.silent for r in results), "failures": dg.MetadataValue.md(lines),
        "path": dg.MetadataValue.path(str(results[0].path.parent) if results else ""),
        "encoder": dg.MetadataValue.json(info), "weights": info["weights"],
    })


@dg.asset(partitions_def=shard_partitions, group_name="features", kinds={"pytorch", "parquet"},
          owners=["team:avgzsl"], deps=["media_split"], pool="gpu", backfill_policy=dg.BackfillPolicy.single_run(),
          description="CLIP image embedding of each video's middle frame (L2-normalised), one Parquet file per shard.")
def visual_features(context: dg.AssetExecutionContext, state: StateResource, media: MediaResource,
                    visual_encoder: VisualEncoderResource) -> dg.MaterializeResult:
    encoder = visual_encoder.encoder()

    def work(spec, paths, index, settings):
        key = shard_key(spec.name, index)
        return encode_visual_shard(encoder, _split_rows(paths, key), paths.feature_shard("visual", key),
                                   visual_encoder.prefetch_workers)

    return _feature_result("visual", _run_shards(context, state, media, work, parallel=1), encoder)


@dg.asset(partitions_def=shard_partitions, group_name="features", kinds={"pytorch", "parquet"},
          owners=["team:avgzsl"], deps=["media_split"], pool="gpu", backfill_policy=dg.BackfillPolicy.single_run(),
          description="CLAP audio embedding of each video's audio (centre 10 s, zero-padded; silence when the "
                      "video has no audio track), one Parquet file per shard.")
def audio_features(context: dg.AssetExecutionContext, state: StateResource, media: MediaResource,
                   audio_encoder: AudioEncoderResource) -> dg.MaterializeResult:
    encoder = audio_encoder.encoder()

    def work(spec, paths, index, settings):
        key = shard_key(spec.name, index)
        return encode_audio_shard(encoder, _split_rows(paths, key), paths.feature_shard("audio", key),
                                  paths.media / "silence.wav", audio_encoder.prefetch_workers)

    return _feature_result("audio", _run_shards(context, state, media, work, parallel=1), encoder)


@dg.asset(partitions_def=dataset_partitions, group_name="features", kinds={"pytorch", "parquet"},
          owners=["team:avgzsl"], deps=[dg.AssetDep("video_manifest")], pool="gpu",
          description="Per class: the CLIP text embedding of the visual prompt ensemble and the CLAP text embedding "
                      "of the audio prompt ensemble (normalised means), recomputed when classes, prompts or "
                      "encoders change.")
def class_embeddings(context: dg.AssetExecutionContext, state: StateResource,
                     visual_encoder: VisualEncoderResource, audio_encoder: AudioEncoderResource) -> dg.MaterializeResult:
    dataset = context.partition_key
    paths = DatasetPaths.of(state.layout(), dataset)
    spec = paths.read_spec()
    splits = read_class_splits(paths.class_split_dir(spec), dataset=spec.benchmark)
    names = list(splits.all_classes)
    readable = [splits.readable.get(n, n) for n in names]
    prompt_set = spec.benchmark or "custom"
    visual, audio = visual_encoder.encoder(), audio_encoder.encoder()
    meta = {"visual": visual.info.as_metadata(), "audio": audio.info.as_metadata(), "prompts": prompt_set}
    prompts = [(n, visual_prompts(prompt_set, n), audio_prompts(prompt_set, n)) for n in readable]
    fp = fingerprint(meta, [names, prompts])
    _, out = feature_tables(state.layout(), dataset, "extracted")
    skipped = stored_fingerprint(out) == fp
    if not skipped:
        clip_text, clap_text = class_text_embeddings(readable, prompt_set, visual, audio)
        write_parquet_atomic(classes_table(names, readable, clip_text, clap_text), out,
                             metadata={"encoders": json.dumps(meta), "avgzsl.inputs": fp})
    return dg.MaterializeResult(metadata={
        "classes": len(names), "skipped_unchanged": skipped, "prompt_set": prompt_set,
        "visual_prompts_per_class": len(prompts[0][1]), "audio_prompts_per_class": len(prompts[0][2]),
        "weights": f"visual {visual.info.weights}, audio {audio.info.weights}",
        "path": dg.MetadataValue.path(str(out)),
    })


@dg.asset(partitions_def=dataset_partitions, group_name="features", kinds={"parquet"}, owners=["team:avgzsl"],
          deps=[dg.AssetDep("visual_features", partition_mapping=ALL),
                dg.AssetDep("audio_features", partition_mapping=ALL), class_embeddings],
          description="The dataset's features table (one row per video with both vectors), next to its classes "
                      "table: what training reads with features=extracted.")
def extracted_features(context: dg.AssetExecutionContext, state: StateResource) -> dg.MaterializeResult:
    import polars as pl

    dataset = context.partition_key
    paths = DatasetPaths.of(state.layout(), dataset)
    keys = paths.shard_keys(dataset)
    visual = read_vectors([paths.feature_shard("visual", k) for k in keys])
    audio = read_vectors([paths.feature_shard("audio", k) for k in keys])
    out, _ = feature_tables(state.layout(), dataset, "extracted")
    manifest = pl.read_parquet(paths.manifest).to_dicts()
    summary = assemble_features(manifest, visual, audio, out)
    return dg.MaterializeResult(metadata={
        "videos": summary["videos"], "missing_videos": summary["missing"],
        "visual_weights": summary["metadata"].get("visual.weights", ""),
        "audio_weights": summary["metadata"].get("audio.weights", ""),
        "path": dg.MetadataValue.path(str(out)),
    })
