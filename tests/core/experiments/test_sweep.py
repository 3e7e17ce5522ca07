"""A sweep's grid: any run setting may be listed; the grid expands in field order, every value checked."""
from __future__ import annotations

import re

import pytest

from avgzsl.experiments.spec import SpecError
from avgzsl.experiments.sweep import Sweep


def test_listed_settings_expand_as_a_product_with_the_seed_innermost():
    grid = Sweep.parse("ucf", seed="1..2", modality="audio,video", text="clap", features="published")
    assert [s.variant for s in grid.specs()] == ["audio_clap_s1", "audio_clap_s2", "visual_clap_s1", "visual_clap_s2"]
    assert grid.values("modality") == ("audio", "visual") and grid.values("epochs") == ()


def test_numbers_and_flags_are_settings_like_any_other():
    grid = Sweep.parse("ucf", seed="3", epochs="2,4", lr="0.001", batches_per_epoch=10, logging_pass=False)
    assert [s.variant for s in grid.specs()] == ["s3_e2_lr0.001_bpe10_nolog", "s3_e4_lr0.001_bpe10_nolog"]


@pytest.mark.parametrize("given, message", [
    ({"seed": "5..2"}, "--seeds 5..2: the range is reversed (write 2..5)"),
    ({"seed": ","}, "--seeds ',': expected a range"),
    ({"seed": "1,1"}, "--seeds 1,1: a value is listed twice"),
    ({"seed": "x"}, "--seeds 'x': expected a whole number"),
    ({}, "--seeds: required"),
    ({"seed": "1", "modality": "audio,smell"}, "--modality 'smell': expected one of both, audio, visual"),
    ({"seed": "1", "epochs": "0"}, "--epochs 0: expected at least 1"),
    ({"seed": "1", "lr": "0"}, "--lr 0: expected a number > 0"),
    ({"seed": "1", "batch_size": "1"}, "--batch-size 1: expected at least 2"),
])
def test_bad_values_name_the_option(given, message):
    with pytest.raises(SpecError, match=re.escape(message)):
        Sweep.parse("ucf", **given)
