"""Class-split reading and per-video manifests, on the real benchmark files (tests/fixtures/splits) and synthetic ones."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from avgzsl.data.splits import DATASETS, dataset_info, read_class_splits, read_video_manifest
from avgzsl.data.validate import DataError
from avgzsl.names import BENCHMARKS, CLASS_LISTS
from tests.helpers.data import esc, real_class_split

# (upstream folder, dataset, classes, stage-1 seen/unseen, stage-2 seen/unseen).
# VGGSound's stage_2_test_unseen.txt lists 64 classes (its last line has no newline, so `wc -l`
# says 63, the number METHOD.md's table gives; METHOD.md's own "38 of 64" agrees with 64).
REAL_COUNTS = [
    ("UCF", "ucf", 101, 30, 12, 42, 6),
    ("ActivityNet", "activitynet", 200, 99, 51, 150, 48),
    ("VGGSound", "vggsound", 309, 138, 69, 207, 64),
]


@pytest.mark.parametrize("upstream, dataset, classes, seen_1, unseen_1, seen_2, unseen_2", REAL_COUNTS)
def test_real_class_splits_have_the_benchmark_counts(upstream, dataset, classes, seen_1, unseen_1, seen_2, unseen_2):
    splits = read_class_splits(real_class_split(upstream))
    assert splits.dataset == dataset
    assert len(splits.all_classes) == classes
    assert list(splits.all_classes) == sorted(splits.all_classes)
    sizes = {name: len(names) for name, names in splits.lists.items()}
    assert sizes == {
        "stage_1_train": seen_1, "stage_1_val_seen": seen_1, "stage_1_val_unseen": unseen_1,
        "stage_2_train": seen_2, "stage_2_test_seen": seen_2, "stage_2_test_unseen": unseen_2,
    }
    ids = sorted(splits.class_id(name) for name in splits.lists["stage_2_test_unseen"])
    assert [splits.all_classes[i] for i in ids] == sorted(splits.lists["stage_2_test_unseen"])
    assert set(splits.readable) == set(splits.all_classes)


def test_real_readable_names():
    ucf = read_class_splits(real_class_split("UCF"), "ucf")
    vggsound = read_class_splits(real_class_split("VGGSound"), "vggsound")
    activitynet = read_class_splits(real_class_split("ActivityNet"), "activitynet")
    assert ucf.readable["ApplyEyeMakeup"] == "Apply Eye Makeup"
    assert vggsound.readable["bird chirping, tweeting"] == "bird chirping"
    assert activitynet.readable["Applyingsunscreen"] == "Applying sunscreen"


def test_ucf_handstand_case_mismatch_is_resolved():
    folder = real_class_split("UCF")
    assert "HandStandPushups" in (folder / "cls_split" / "stage_1_train.txt").read_text().split()
    splits = read_class_splits(folder)
    assert "HandstandPushups" in splits.all_classes
    assert "HandstandPushups" in splits.lists["stage_1_train"]
    assert splits.class_id("HandStandPushups") == splits.class_id("HandstandPushups")
    assert splits.find("handstandpushups") == "HandstandPushups" and splits.find("NoSuchClass") is None
    with pytest.raises(DataError, match="unknown class 'NoSuchClass': not in all_class.txt \\(101 classes\\)"):
        splits.class_id("NoSuchClass")
    manifest = read_video_manifest(folder, "stage_1_train", splits=splits)
    assert "HandStandPushups" not in manifest["class_name"].to_list()
    assert "HandstandPushups" in manifest["class_name"].to_list()


@pytest.mark.parametrize(
    "upstream, split, rows, extra_columns",
    [
        ("UCF", "stage_1_train", 4 + 5, []),  # the fixture's first four videos and 5 HandStandPushups
        ("ActivityNet", "stage_2_test_unseen", 48, []),  # one per unseen class; 2 of classes in no list dropped
        ("VGGSound", "stage_1_val_seen", 4, ["youtube_id", "start_seconds"]),
    ],
)
def test_real_manifests_in_all_three_formats(upstream, split, rows, extra_columns):
    folder = real_class_split(upstream)
    splits = read_class_splits(folder)
    manifest = read_video_manifest(folder, split, splits=splits, unlisted="drop")
    assert manifest.columns == ["video_id", "class_name", "split", *extra_columns]
    assert manifest.height == rows
    assert manifest["video_id"].n_unique() == rows
    assert set(manifest["split"].unique()) == {split}
    assert set(manifest["class_name"].unique()) <= set(splits.lists[split])
    if extra_columns:
        first = manifest.row(0, named=True)
        assert manifest["start_seconds"].dtype == pl.Int64
        assert first["video_id"] == f"{first['youtube_id']}_{first['start_seconds']:06d}"


def test_custom_manifest_with_video_id_and_label(tiny_root):
    class_split = tiny_root / "class-split"
    splits = read_class_splits(class_split)
    name = splits.all_classes[0]
    (class_split / "custom").mkdir()
    for list_name in CLASS_LISTS:
        source = class_split / "cls_split" / f"{list_name}.txt"
        (class_split / "custom" / f"{list_name}.txt").write_text(source.read_text())
    (class_split / "custom" / "stage_1_train.csv").write_text(f"video_id,label\nclip1,{name.lower()}\nclip2,{name}\n")
    manifest = read_video_manifest(class_split, "stage_1_train", split_folder="custom")
    assert manifest.to_dicts() == [
        {"video_id": "clip1", "class_name": name, "split": "stage_1_train"},
        {"video_id": "clip2", "class_name": name, "split": "stage_1_train"},
    ]


def test_manifest_unknown_label_names_file_and_line(tiny_root):
    path = tiny_root / "class-split" / "cls_split" / "stage_1_val_seen.csv"
    lines = path.read_text().splitlines()
    lines[3] = "v_Nobody_g01_c01,NoSuchClass,99"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"{esc(path)}, line 4: class 'NoSuchClass'"):
        read_video_manifest(tiny_root / "class-split", "stage_1_val_seen")


def test_synthetic_case_variant_resolves(tiny_root):
    splits = read_class_splits(tiny_root / "class-split")
    listed = (tiny_root / "class-split" / "cls_split" / "stage_1_train.txt").read_text().split()
    variants = [name for name in listed if name not in splits.all_classes]
    assert len(variants) == 1
    assert splits.find(variants[0]) in splits.lists["stage_1_train"]
    assert splits.readable[splits.find(variants[0])] != variants[0]


def _edit_list(root: Path, list_name: str, names: list[str]) -> Path:
    path = root / "class-split" / "cls_split" / f"{list_name}.txt"
    path.write_text("".join(f"{name}\n" for name in names))
    return path


def test_missing_class_list_names_the_file(tiny_root):
    path = tiny_root / "class-split" / "cls_split" / "stage_1_val_unseen.txt"
    path.unlink()
    with pytest.raises(DataError, match=f"file not found: {path}"):
        read_class_splits(tiny_root / "class-split")


def test_overlapping_seen_and_unseen_lists(tiny_root):
    splits = read_class_splits(tiny_root / "class-split")
    train = splits.lists["stage_2_train"]
    path = _edit_list(tiny_root, "stage_2_test_unseen", [*splits.lists["stage_2_test_unseen"], train[0]])
    with pytest.raises(DataError, match=f"{esc(path)} and .*stage_2_train.txt share classes '{train[0]}'"):
        read_class_splits(tiny_root / "class-split")


def test_val_seen_must_be_within_train(tiny_root):
    splits = read_class_splits(tiny_root / "class-split")
    extended = [*splits.lists["stage_1_val_seen"], splits.lists["stage_1_val_unseen"][0]]
    path = _edit_list(tiny_root, "stage_1_val_seen", extended)
    with pytest.raises(DataError, match=f"{esc(path)} lists classes .* not in .*stage_1_train.txt"):
        read_class_splits(tiny_root / "class-split")


def test_unknown_class_in_list_names_file_and_line(tiny_root):
    path = _edit_list(tiny_root, "stage_1_train", ["ClassAlpha01", "NoSuchClass"])
    with pytest.raises(DataError, match=f"{esc(path)}, line 2: class 'NoSuchClass' is not in all_class.txt"):
        read_class_splits(tiny_root / "class-split")


@pytest.mark.parametrize("content, message", [("", "empty"), ("Abc\nabc\n", "line 2: class 'abc' repeats 'Abc'")])
def test_bad_all_class_file(tiny_root, content, message):
    path = tiny_root / "class-split" / "all_class.txt"
    path.write_text(content)
    with pytest.raises(DataError, match=f"{esc(path)}.*{message}"):
        read_class_splits(tiny_root / "class-split")


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match=f"class-split folder: folder not found: {esc(tmp_path / 'nope')}"):
        read_class_splits(tmp_path / "nope")


def test_names_csv_without_readable_column(tiny_root):
    path = tiny_root / "class-split" / DATASETS["ucf"].names_csv
    path.write_text("original,other\nClassAlpha01,x\n")
    with pytest.raises(DataError, match=f"{esc(path)}: columns .*expected 'original'"):
        read_class_splits(tiny_root / "class-split")


def test_dataset_table():
    assert {key: (info.upstream_folder, info.text_stem) for key, info in DATASETS.items()} == {
        "ucf": ("UCF", "ucf"), "activitynet": ("ActivityNet", "activitynet"), "vggsound": ("VGGSound", "vggsound"),
    }
    assert tuple(DATASETS) == BENCHMARKS
    with pytest.raises(DataError, match="unknown dataset 'kinetics'"):
        dataset_info("kinetics")


@pytest.mark.parametrize("upstream, dropped", [("UCF", {"BandMarching", "BrushingTeeth", "Typing"}),
                                               ("ActivityNet", {"Brushingteeth", "Knitting"})])
def test_real_test_unseen_videos_of_classes_in_no_list_are_dropped_or_refused(upstream, dropped):
    """The published stage_2_test_unseen.csv lists videos of classes in no class list: the authors' mask drops them."""
    folder = real_class_split(upstream)
    splits = read_class_splits(folder)
    kept = read_video_manifest(folder, "stage_2_test_unseen", splits=splits, unlisted="drop")
    assert set(kept["class_name"].unique()) == set(splits.lists["stage_2_test_unseen"])
    with pytest.raises(DataError, match=r"stage_2_test_unseen.csv, line \d+: class '(.+)' is not in "
                                        r"cls_split/stage_2_test_unseen.txt \(it is in no class list\)") as error:
        read_video_manifest(folder, "stage_2_test_unseen", splits=splits)
    assert error.value.args[0].split("'")[1] in dropped


def _relabel(root: Path, split: str, row: int, label: str) -> Path:
    """Give the ``row``-th video (1-based, after the header) of ``split``.csv the class ``label``."""
    path = root / "class-split" / "cls_split" / f"{split}.csv"
    lines = path.read_text().splitlines()
    cells = lines[row].split(",")
    cells[1] = label
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("split, leak_from", [("stage_1_train", "stage_2_test_unseen"),
                                              ("stage_1_train", "stage_1_val_unseen"),
                                              ("stage_2_test_seen", "stage_2_test_unseen")])
def test_a_video_of_another_splits_class_is_refused_with_file_line_and_class(tiny_root, split, leak_from):
    splits = read_class_splits(tiny_root / "class-split")
    intruder = splits.lists[leak_from][0]
    path = _relabel(tiny_root, split, 3, intruder)
    for unlisted in ("error", "drop"):  # a class of another list is never dropped silently
        with pytest.raises(DataError, match=rf"{esc(path)}, line 4: class '{esc(intruder)}' is not in "
                                            rf"cls_split/{split}.txt \(it is a class of .*{leak_from}.txt"):
            read_video_manifest(tiny_root / "class-split", split, splits=splits, unlisted=unlisted)


@pytest.mark.parametrize("unseen, trained", [("stage_2_test_unseen", "stage_1_val_unseen"),
                                             ("stage_2_test_unseen", "stage_1_train"),
                                             ("stage_1_val_unseen", "stage_1_train")])
def test_unseen_class_lists_must_be_disjoint_from_what_their_stage_trains_on(tiny_root, unseen, trained):
    splits = read_class_splits(tiny_root / "class-split")
    moved = splits.lists[trained][0]
    path = _edit_list(tiny_root, unseen, [*splits.lists[unseen], moved])
    for stage_2_seen in ("stage_2_train", "stage_2_test_seen"):  # so that only the new rule can object
        _edit_list(tiny_root, stage_2_seen, [name for name in splits.lists[stage_2_seen] if name != moved])
    with pytest.raises(DataError, match=f"{esc(path)} and .*{trained}.txt share classes"):
        read_class_splits(tiny_root / "class-split")
