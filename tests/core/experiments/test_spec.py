"""A run specification: the paper's defaults filled in, every value validated, a short key that round-trips."""
from __future__ import annotations

import dataclasses
import re

import pytest

from avgzsl.clipclap.presets import PRESETS
from avgzsl.experiments.spec import SETTINGS, RunSpec, SpecError


def test_defaults_come_from_the_datasets_preset():
    ucf = RunSpec("ucf")
    assert (ucf.epochs, ucf.lr, ucf.batch_size, ucf.batches_per_epoch) == (20, 7e-5, 64, 300)
    assert (ucf.features, ucf.modality, ucf.text, ucf.text_lookup, ucf.seed, ucf.logging_pass) == (
        "published", "both", "both", "name", 42, True)
    assert (RunSpec("vggsound").epochs, RunSpec("vggsound").lr) == (15, 1e-4)
    custom = RunSpec("my-birds", features="extracted")
    assert (custom.epochs, custom.lr) == (PRESETS["ucf"].epochs, PRESETS["ucf"].lr)
    assert RunSpec("ucf", epochs=3, lr=1e-3).epochs == 3


def test_the_variant_key_shows_only_what_differs_from_the_papers_run_and_always_the_seed():
    assert RunSpec("ucf").variant == "s42"
    assert RunSpec("ucf", epochs=20, lr=7e-5, batch_size=64).variant == "s42"
    assert RunSpec("ucf", modality="audio", text="clap", seed=7).variant == "audio_clap_s7"
    spec = RunSpec("ucf", modality="audio", text="clap", text_lookup="positional", seed=7, epochs=3,
                   batches_per_epoch=60)
    assert spec.variant == "audio_clap_positional_s7_e3_bpe60"
    assert RunSpec("activitynet", epochs=20).variant == "s42_e20"  # 15 is its preset
    everything = RunSpec("ucf", features="extracted", lr=1e-3, batch_size=32, logging_pass=False)
    assert everything.variant == "extracted_s42_lr0.001_bs32_nolog"


def test_every_key_token_names_one_setting():
    """No value of one setting can be read as another's (a new field must pick a distinct key)."""
    samples = {name: [v for v in meta.choices if v != RunSpec.defaults("ucf")[name]] if meta.choices else
               [True] if meta.kind is bool else [3] for name, meta in SETTINGS.items()}
    for name, values in samples.items():
        for value in values:
            token = SETTINGS[name].token(value)
            assert token and "_" not in token and re.fullmatch(r"[A-Za-z0-9.+-]+", token), token
            readers = [other for other, meta in SETTINGS.items() if meta.read(token, True)[0]]
            assert readers == [name], (token, readers)


@pytest.mark.parametrize("old, new", [
    ("published_both_both_name_s42", "s42"),
    ("published_audio_clap_positional_s7_e3_bpe60", "audio_clap_positional_s7_e3_bpe60"),
    ("extracted_both_both_name_s42_lr0.001_bs32_nolog", "extracted_s42_lr0.001_bs32_nolog"),
])
def test_keys_of_the_earlier_format_still_name_their_run(old, new):
    assert RunSpec.from_variant("ucf", old).variant == new


@pytest.mark.parametrize("spec", [
    RunSpec("ucf"),
    RunSpec("ucf", modality="visual", text="clip", seed=0, epochs=2, batches_per_epoch=20),
    RunSpec("vggsound", features="extracted", text_lookup="positional", lr=1e-05, batch_size=16, logging_pass=False),
    RunSpec("my-birds", features="extracted", modality="audio", seed=123, lr=0.0025, epochs=1),
])
def test_from_variant_is_the_inverse_of_variant(spec):
    assert RunSpec.from_variant(spec.dataset, spec.variant) == spec


def test_video_is_an_alias_of_visual_in_the_spec_and_its_key():
    spec = RunSpec("ucf", modality="video")
    assert spec.modality == "visual" and spec.variant == "visual_s42"


@pytest.mark.parametrize("changes, message", [
    ({"features": "mine"}, "features 'mine': expected one of published, extracted"),
    ({"modality": "smell"}, "modality 'smell': expected one of both, audio, visual"),
    ({"text": "bert"}, "text 'bert': expected one of both, clip, clap"),
    ({"text_lookup": "fuzzy"}, "text_lookup 'fuzzy': expected one of name, positional"),
    ({"epochs": -1}, "epochs -1: expected at least 1"),
    ({"epochs": 0}, "epochs 0: expected at least 1"),
    ({"epochs": 2.5}, "epochs 2.5: expected a whole number"),
    ({"batch_size": 1}, "batch_size 1: expected at least 2"),
    ({"batches_per_epoch": -5}, "batches_per_epoch -5: expected at least 1"),
    ({"lr": -0.1}, "lr -0.1: expected a number > 0"),
    ({"lr": 0.0}, "lr 0: expected a number > 0"),
    ({"seed": -1}, "seed -1: expected at least 0"),
    ({"logging_pass": "no"}, "logging_pass 'no': expected true or false"),
])
def test_invalid_settings_name_the_option(changes, message):
    with pytest.raises(SpecError, match=message):
        RunSpec("ucf", **changes)
    assert issubclass(SpecError, ValueError)


@pytest.mark.parametrize("variant, message", [
    ("", "unknown or misplaced part ''"),
    ("both_s42", "not in the canonical form (write 's42')"),  # the default is never written
    ("s42_audio", "misplaced part 'audio'"),
    ("s42_x9", "unknown or misplaced part 'x9'"),
    ("published_both_both_name_s42_x9", "unknown or misplaced part 'x9'"),
    ("published_smell_both_name_s42", "modality 'smell'"),
    ("s42_e20", "not in the canonical form (write 's42')"),  # 20: UCF's preset
])
def test_malformed_variants_are_refused(variant, message):
    with pytest.raises(SpecError, match=re.escape(message)):
        RunSpec.from_variant("ucf", variant)


def test_settings_and_the_training_config():
    spec = RunSpec("activitynet", modality="audio", seed=3, batches_per_epoch=10, logging_pass=False)
    assert spec.settings() == dataclasses.asdict(spec)
    config = spec.train_config(device="cpu")
    assert (config.epochs, config.lr, config.seed, config.batch_size, config.batches_per_epoch) == (15, 1e-4, 3, 64, 10)
    assert (config.weight_decay, config.lr_patience, config.logging_pass, config.device) == (1e-5, 3, False, "cpu")
