"""The names the pipeline shares: split pairs of each stage, and the modality alias."""
import pytest

from avgzsl.names import (CLASS_LISTS, MODALITIES, SPLITS, STAGE_1_TRAIN_SPLITS, STAGE_2_TRAIN_SPLITS, TEST,
                          VALIDATION, modality)


def test_stage_splits():
    assert STAGE_1_TRAIN_SPLITS == ("stage_1_train",)
    assert STAGE_2_TRAIN_SPLITS == ("stage_1_train", *VALIDATION)
    assert set(SPLITS) == set(STAGE_2_TRAIN_SPLITS) | set(TEST)
    assert CLASS_LISTS == SPLITS + ("stage_2_train",)


def test_video_is_an_alias_of_visual():
    assert [modality(m) for m in MODALITIES] == list(MODALITIES)
    assert modality("video") == "visual"
    with pytest.raises(ValueError, match="modality 'smell': expected one of both, audio, visual"):
        modality("smell")
