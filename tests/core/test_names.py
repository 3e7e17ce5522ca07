"""The shared names against the authors' split files (tests/fixtures/splits), and the modality alias."""
import pytest

from avgzsl.data.splits import read_class_splits
from avgzsl.names import (CLASS_LISTS, MODALITIES, SPLITS, STAGE_1_TRAIN_SPLITS, STAGE_2_TRAIN, STAGE_2_TRAIN_SPLITS,
                          TEST, VALIDATION, modality)
from tests.helpers.data import real_class_split

UPSTREAM = ("UCF", "ActivityNet", "VGGSound")


@pytest.mark.parametrize("upstream", UPSTREAM)
def test_the_class_lists_are_the_authors_files(upstream):
    folder = real_class_split(upstream) / "cls_split"
    assert {path.stem for path in folder.glob("*.txt")} == set(CLASS_LISTS)
    assert {path.stem for path in folder.glob("*.csv")} <= set(CLASS_LISTS)  # VGGSound ships no train CSVs


@pytest.mark.parametrize("upstream", UPSTREAM)
def test_stage_2_trains_on_the_classes_its_list_names_and_each_evaluation_pair_is_seen_then_unseen(upstream):
    lists = read_class_splits(real_class_split(upstream)).lists
    classes = lambda splits: set().union(*(lists[s] for s in splits))  # noqa: E731
    assert classes(STAGE_2_TRAIN_SPLITS) == set(lists[STAGE_2_TRAIN]) == set(lists[TEST[0]])
    assert classes(STAGE_1_TRAIN_SPLITS) == set(lists[VALIDATION[0]])
    for seen, unseen in (VALIDATION, TEST):
        assert not set(lists[seen]) & set(lists[unseen])
    assert set(lists[VALIDATION[1]]) < classes(STAGE_2_TRAIN_SPLITS)  # validation's unseen are trained on in stage 2
    assert set(SPLITS) == set(STAGE_2_TRAIN_SPLITS) | set(TEST)  # every video split is trained on or tested


def test_video_is_an_alias_of_visual():
    assert [modality(m) for m in MODALITIES] == list(MODALITIES)
    assert modality("video") == "visual"
    with pytest.raises(ValueError, match="modality 'smell': expected one of both, audio, visual"):
        modality("smell")
