"""Run config built in one place: encoder weights (and the stand-in tokenizer for random CLAP), range tags."""
from __future__ import annotations

from pipelines.run_config import RANGE_END, RANGE_START, encoder_resources, range_tags


def test_random_weights_bring_the_standin_text_tokenizer():
    assert encoder_resources("random") == {
        "visual_encoder": {"config": {"weights": "random"}},
        "audio_encoder": {"config": {"text_tokenizer": "standin", "weights": "random"}},
    }


def test_pretrained_or_unset_weights_keep_the_real_tokenizer():
    assert encoder_resources("pretrained") == {"visual_encoder": {"config": {"weights": "pretrained"}},
                                               "audio_encoder": {"config": {"weights": "pretrained"}}}
    assert encoder_resources(None) == {}


def test_extra_encoder_settings_are_merged_and_weights_win():
    extra = {"visual_encoder": {"model_name": "tiny", "weights": "pretrained"},
             "audio_encoder": {"batch_size": 4, "text_tokenizer": "hub"}}
    out = encoder_resources("random", extra)
    assert out["visual_encoder"] == {"config": {"model_name": "tiny", "weights": "random"}}
    assert out["audio_encoder"] == {"config": {"batch_size": 4, "text_tokenizer": "hub", "weights": "random"}}
    assert extra["audio_encoder"] == {"batch_size": 4, "text_tokenizer": "hub"}  # the caller's dict is not changed
    only_device = encoder_resources(None, {"audio_encoder": {"device": "cpu"}})
    assert only_device == {"audio_encoder": {"config": {"device": "cpu"}}}


def test_range_tags_name_the_first_and_last_partition():
    assert range_tags("demo-0001", "demo-0003") == {RANGE_START: "demo-0001", RANGE_END: "demo-0003"}
    assert RANGE_START == "dagster/asset_partition_range_start" and RANGE_END == "dagster/asset_partition_range_end"
