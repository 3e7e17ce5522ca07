"""The synthetic generator: determinism, UCF-like shape, and learnable-but-not-trivial structure."""
from __future__ import annotations

import time

import numpy as np
import pytest

from avgzsl.data.authors import FEATURES_SUBDIR, import_authors_root
from avgzsl.data.store import arrow_to_vectors
from avgzsl.data.synthetic import SHAPES, class_names, make_synthetic_root
from avgzsl.names import SPLITS


@pytest.fixture(scope="module")
def ucf_import(tmp_path_factory):
    root = make_synthetic_root(tmp_path_factory.mktemp("ucf"), "ucf")
    start = time.perf_counter()
    imported = import_authors_root(root, "ucf")
    return imported, time.perf_counter() - start


def _files(root):
    return {path.relative_to(root): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    first = _files(make_synthetic_root(tmp_path / "a", "tiny", seed=3))
    assert first == _files(make_synthetic_root(tmp_path / "b", "tiny", seed=3))
    other = _files(make_synthetic_root(tmp_path / "c", "tiny", seed=4))
    assert other != first


def test_readable_order_differs_from_folder_order():
    for shape in SHAPES.values():
        folders, readable = class_names(shape.num_classes)
        by_folder = [name for _, name in sorted(zip(folders, readable))]
        assert by_folder != sorted(readable)


def test_layout_matches_the_authors(tmp_path):
    root = make_synthetic_root(tmp_path, "tiny")
    assert (root / "class-split" / "ucf_clip_class_names.csv").read_text().splitlines()[:2] == [
        "original,manual,clip_class_name", "ClassAlpha01,Class Alpha 01,Class Alpha 01",
    ]
    manifest = (root / "class-split" / "cls_split" / "stage_1_train.csv").read_text()
    assert manifest.startswith("filename,label,label_code\n")
    for modality in ("video", "audio"):
        for split in SPLITS:
            assert list((root / FEATURES_SUBDIR / modality / split).glob("*.pkl"))
    assert {p.name for p in (root / FEATURES_SUBDIR / "text").iterdir()} == {
        "word_embeddings_ucf_normed.npy", "wavcaps_word_embeddings_ucf_normed.npy",
    }


def test_ucf_shape_imports_with_ucf_counts_in_seconds(ucf_import):
    imported, seconds = ucf_import
    assert imported.summary["videos_per_split"] == SHAPES["ucf"].videos
    assert imported.summary["num_videos"] == 6816
    assert imported.summary["num_classes"] == 101
    assert seconds < 10, f"UCF-sized import took {seconds:.1f} s"


def _nearest_mean_accuracy(vectors, class_ids, train, test):
    classes = np.unique(class_ids[train])
    means = np.stack([vectors[train & (class_ids == k)].mean(0) for k in classes])
    predicted = classes[((vectors[test][:, None, :] - means[None]) ** 2).sum(-1).argmin(1)]
    truth = class_ids[test]
    return float(np.mean([np.mean(predicted[truth == k] == k) for k in np.unique(truth)]))


def test_structure_is_learnable_but_not_trivial(ucf_import):
    imported, _ = ucf_import
    features = imported.features
    visual, audio_vectors = arrow_to_vectors(features.column("visual")), arrow_to_vectors(features.column("audio"))
    split = np.array(features.column("split").to_pylist())
    class_ids = np.array([imported.splits.class_id(name) for name in features.column("class_name").to_pylist()])
    train, test = split == "stage_1_train", split == "stage_1_val_seen"
    video = _nearest_mean_accuracy(visual, class_ids, train, test)
    audio = _nearest_mean_accuracy(audio_vectors, class_ids, train, test)
    assert 0.45 < video < 0.9 and 0.35 < audio < video  # chance is 1/30

    # Zero-shot: a ridge map text → class mean learnt on seen classes, applied to unseen ones.
    classes = imported.classes
    text = np.hstack([arrow_to_vectors(classes.column("clip_text")), arrow_to_vectors(classes.column("clap_text"))])
    seen, unseen = (np.array(sorted(imported.splits.class_id(n) for n in imported.splits.lists[name]))
                    for name in ("stage_1_train", "stage_1_val_unseen"))
    means = np.stack([visual[train & (class_ids == k)].mean(0) for k in seen])
    ridge = np.linalg.solve(text[seen].T @ text[seen] + np.eye(text.shape[1]), text[seen].T @ means)
    prototypes = text[unseen] @ ridge
    rows = split == "stage_1_val_unseen"
    predicted = unseen[((visual[rows][:, None] - prototypes[None]) ** 2).sum(-1).argmin(1)]
    zero_shot = np.mean([np.mean(predicted[class_ids[rows] == k] == k) for k in unseen])
    assert 0.25 < zero_shot < 0.85  # chance is 1/12
