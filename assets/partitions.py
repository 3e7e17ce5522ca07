"""Partitions: one per dataset (``ucf``, or a custom name), and one per shard of a dataset's videos."""
import dagster as dg

dataset_partitions = dg.DynamicPartitionsDefinition(name="dataset")
# Keys are "<dataset>-<NNNN>"; video_manifest adds a dataset's shards when it runs.
shard_partitions = dg.DynamicPartitionsDefinition(name="shard")
