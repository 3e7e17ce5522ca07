"""Partitions: datasets, shards of a dataset's videos, and training runs (dataset × variant).

* ``dataset``: ``ucf``, ``activitynet``, ``vggsound`` or a custom dataset's name;
* ``shard``: ``<dataset>-<NNNN>``; ``video_manifest`` registers a dataset's shards;
* ``variant``: a run specification's key (:class:`avgzsl.experiments.spec.RunSpec`),
  e.g. ``s42`` (the paper's run) or ``audio_clap_s7``; a training run is the multi-partition
  ``dataset × variant``, so every ablation and seed has its own lineage and staleness.

A run partition's key, as the Dagster CLI, GraphQL API and UI write it, is
``<dataset>|<variant>`` (``avgzsl key`` prints it).  A well-formed variant of a registered
dataset is a partition on first use: launching it needs no registration, and the run's
first asset registers it (:func:`spec_of`), so it shows in the UI afterwards.  A malformed
key fails before any work with a line naming the expected format.
"""
import click
import dagster as dg
from dagster._core.definitions.partitions.context import partition_loading_context  # what the base class uses

from avgzsl.errors import UserError
from avgzsl.experiments.spec import RunSpec, SpecError
from avgzsl.names import BENCHMARKS

RUN_KEY_FORMAT = "<dataset>|<variant>, e.g. ucf|s42 or ucf|audio_clap_s7_e3 (`avgzsl key --dataset ucf ...` prints it)"


class PartitionKeyError(UserError, click.ClickException):
    """A malformed run partition key (`dagster asset materialize` prints it as one ``Error:`` line)."""

    def __init__(self, message: str):
        UserError.__init__(self, message)
        click.ClickException.__init__(self, message)


def parse_run_key(key) -> RunSpec:
    """The run specification a run partition key names; :class:`PartitionKeyError` if it names none."""
    text = key if isinstance(key, str) else "|".join(key.keys_by_dimension[d] for d in ("dataset", "variant"))
    parts = text.split("|")
    if len(parts) != 2 or not all(parts):
        raise PartitionKeyError(f"partition key {text!r}: expected {RUN_KEY_FORMAT}")
    dataset, variant = parts
    try:
        spec = RunSpec.from_variant(dataset, variant)
    except SpecError as error:
        raise PartitionKeyError(f"partition key {text!r}: {error}; `avgzsl key` prints a run's key") from None
    if spec.variant != variant:
        raise PartitionKeyError(f"partition key {text!r}: this run's key is {dataset}|{spec.variant}")
    return spec


class VariantPartitions(dg.DynamicPartitionsDefinition):
    """Registered variant keys, and any well-formed one (Dagster checks a step's partition before it runs)."""

    def has_partition_key(self, partition_key: str, current_time=None, dynamic_partitions_store=None) -> bool:
        for dataset in ("", *BENCHMARKS):  # the dataset's defaults shape its keys; custom datasets take UCF's
            try:
                if RunSpec.from_variant(dataset, partition_key).variant == partition_key:
                    return True
            except SpecError:
                continue
        return super().has_partition_key(partition_key, current_time, dynamic_partitions_store)


class RunPartitions(dg.MultiPartitionsDefinition):
    """``dataset × variant``; a malformed key is refused with the expected format, not a subset error."""

    def validate_partition_key(self, partition_key, context) -> None:
        spec = parse_run_key(partition_key)
        with partition_loading_context(new_ctx=context):
            if not self.has_partition_key(partition_key):
                raise PartitionKeyError(f"partition key {partition_key}: dataset {spec.dataset!r} has no features "
                                        "yet (materialize published_features or extracted_features for it first)")


dataset_partitions = dg.DynamicPartitionsDefinition(name="dataset")
shard_partitions = dg.DynamicPartitionsDefinition(name="shard")
variant_partitions = VariantPartitions(name="variant")
run_partitions = RunPartitions({"dataset": dataset_partitions, "variant": variant_partitions})

# A run partition's upstream/downstream dataset partition.
BY_DATASET = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="dataset")


def run_partition_key(spec: RunSpec) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"dataset": spec.dataset, "variant": spec.variant})


def spec_of(context: dg.AssetExecutionContext) -> RunSpec:
    """The run specification a run partition names; its variant registered if it was launched unregistered."""
    spec = parse_run_key(context.partition_key)
    if not context.instance.has_dynamic_partition(variant_partitions.name, spec.variant):
        context.instance.add_dynamic_partitions(variant_partitions.name, [spec.variant])
    return spec
