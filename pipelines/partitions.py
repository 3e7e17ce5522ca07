"""Partitions: one per dataset (a benchmark key such as ``ucf`` or a custom name)."""
import dagster as dg

dataset_partitions = dg.DynamicPartitionsDefinition(name="dataset")
