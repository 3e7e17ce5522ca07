"""`avgzsl key`: the run options of `reproduce` in, the Dagster partition key out (its last line)."""
from __future__ import annotations

import dagster as dg

from assets.partitions import PartitionKeyError, parse_run_key, run_partitions
from pipelines.cli import main


def test_key_prints_the_partition_key_that_names_the_same_run(capsys, state_home):
    assert main(["key", "--dataset", "ucf", "--modality", "video", "--seed", "7", "--epochs", "3",
                 "--batches-per-epoch", "60"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key == "ucf|visual_s7_e3_bpe60"
    spec = parse_run_key(key)
    assert (spec.modality, spec.seed, spec.epochs, spec.batches_per_epoch) == ("visual", 7, 3, 60)
    assert str(dg.MultiPartitionKey({"dataset": "ucf", "variant": spec.variant})) == key  # Dagster's own format


def test_malformed_run_keys_name_the_expected_format():
    for key, cause in [("s42", "expected <dataset>|<variant>"),
                       ("ucf|zzz_s1", "unknown or misplaced part 'zzz'"),
                       ("ucf|published_visual_both_name_s1", "this run's key is ucf|visual_s1")]:
        try:
            parse_run_key(key)
        except PartitionKeyError as error:
            assert cause in str(error), (key, str(error))
        else:
            raise AssertionError(f"{key} accepted")
    # A well-formed variant is a partition before it is registered (a launch needs no registration).
    variants = run_partitions.get_partitions_def_for_dimension("variant")
    assert variants.has_partition_key("audio_s9_e2")
