"""Partitions: datasets, shards of a dataset's videos, and training runs (dataset × variant).

* ``dataset``: ``ucf``, ``activitynet``, ``vggsound`` or a custom dataset's name;
* ``shard``: ``<dataset>-<NNNN>``; ``video_manifest`` registers a dataset's shards;
* ``variant``: a run specification's key (:class:`avgzsl.experiments.spec.RunSpec`),
  e.g. ``s42`` (the paper's run) or ``audio_clap_s7``; a training run is the multi-partition
  ``dataset × variant``, so every ablation and seed has its own lineage and staleness.
"""
import dagster as dg

from avgzsl.experiments.spec import RunSpec

dataset_partitions = dg.DynamicPartitionsDefinition(name="dataset")
shard_partitions = dg.DynamicPartitionsDefinition(name="shard")
variant_partitions = dg.DynamicPartitionsDefinition(name="variant")
run_partitions = dg.MultiPartitionsDefinition({"dataset": dataset_partitions, "variant": variant_partitions})

# A run partition's upstream/downstream dataset partition.
BY_DATASET = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="dataset")


def run_partition_key(spec: RunSpec) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"dataset": spec.dataset, "variant": spec.variant})


def spec_of(context: dg.AssetExecutionContext) -> RunSpec:
    """The run specification a run partition names."""
    keys = context.partition_key.keys_by_dimension
    return RunSpec.from_variant(keys["dataset"], keys["variant"])
