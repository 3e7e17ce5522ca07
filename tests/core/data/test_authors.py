"""Importing the authors' layout: round trips and one DataError per kind of broken input."""
from __future__ import annotations

import io
import pickle
import shutil

import numpy as np
import pytest

from avgzsl.data.authors import FEATURES_SUBDIR, import_authors_root
from avgzsl.data.safe_pickle import UnsafePickleError
from avgzsl.data.schemas import classes_schema, features_schema
from avgzsl.data.splits import read_class_splits
from avgzsl.data.store import arrow_to_vectors
from avgzsl.data.synthetic import SHAPES, make_synthetic_root
from avgzsl.data.validate import DataError
from avgzsl.names import SPLITS
from tests.helpers.data import MarkerPayload, esc, feature_file, rewrite_pickle, set_vector

TEXT_FILE = FEATURES_SUBDIR / "text" / "word_embeddings_ucf_normed.npy"


def test_tiny_round_trip(tiny_root):
    imported = import_authors_root(tiny_root, "ucf")
    assert imported.features.schema == features_schema(512, 1024)
    assert imported.classes.schema == classes_schema(512, 1024)
    assert imported.summary["videos_per_split"] == SHAPES["tiny"].videos
    assert imported.features.num_rows == sum(SHAPES["tiny"].videos.values())
    classes = imported.classes
    class_names, readable = classes.column("class_name").to_pylist(), classes.column("readable_name").to_pylist()
    assert classes.column("class_id").to_pylist() == list(range(12))
    assert class_names == list(imported.splits.all_classes)
    assert readable[class_names.index("ClassTheta01")] == "Theta Class 01"
    assert sorted(readable) != readable  # positions differ

    features = imported.features
    path = feature_file(tiny_root, "audio", "stage_2_test_unseen", 1)
    payload = pickle.loads(path.read_bytes())
    rows = np.flatnonzero(np.isin(features.column("video_id").to_pylist(), payload["video_names"]))
    np.testing.assert_array_equal(arrow_to_vectors(features.column("audio"))[rows], np.stack(payload["features"]))
    assert {features.column("split")[int(i)].as_py() for i in rows} == {"stage_2_test_unseen"}
    assert {features.column("class_name")[int(i)].as_py() for i in rows} == {imported.splits.find(path.stem)}


def test_case_variant_file_names_map_to_canonical_classes(tiny_root):
    imported = import_authors_root(tiny_root, "ucf")
    stems = {path.stem for path in (tiny_root / FEATURES_SUBDIR / "video" / "stage_1_train").glob("*.pkl")}
    variant = next(stem for stem in stems if stem not in imported.splits.all_classes)
    names = set(imported.features.column("class_name").to_pylist())
    assert variant not in names and imported.splits.find(variant) in names


def test_audio_order_squeezed_vectors_and_bytes_names(tiny_root):
    video_path = feature_file(tiny_root, "video", "stage_1_train")
    audio_path = feature_file(tiny_root, "audio", "stage_1_train")
    video_payload = pickle.loads(video_path.read_bytes())

    def reverse_and_reshape(payload):
        payload["features"] = [vector[None, :] for vector in payload["features"][::-1]]
        payload["video_names"] = [name.encode() for name in payload["video_names"][::-1]]

    rewrite_pickle(audio_path, reverse_and_reshape)
    features = import_authors_root(tiny_root, "ucf").features
    first = features.column("video_id").to_pylist().index(video_payload["video_names"][0])
    audio_payload = pickle.loads(audio_path.read_bytes())
    np.testing.assert_array_equal(arrow_to_vectors(features.column("audio"))[first], audio_payload["features"][-1][0])
    np.testing.assert_array_equal(arrow_to_vectors(features.column("visual"))[first], video_payload["features"][0])


def test_text_keys_match_ignoring_case_and_spaces(tiny_root):
    path = tiny_root / TEXT_FILE
    vectors = np.load(path, allow_pickle=True).item()  # our own synthetic file
    respelled = {
        key.lower().replace(" ", "") if i % 2 else key.upper(): value for i, (key, value) in enumerate(vectors.items())
    }
    np.save(path, respelled)
    imported = import_authors_root(tiny_root, "ucf")
    assert sorted(imported.classes["readable_name"].to_pylist()) == sorted(respelled)
    # "classalpha01" matches the folder name ignoring case; only "thetaclass01" needs spaces ignored.
    assert imported.summary["text_match_kinds"]["clip"] == {"exact": 0, "case_insensitive": 11, "space_insensitive": 1}
    assert len(imported.summary["clap_keys_differing"]) == 12


def test_ucf_shape_counts(tmp_path):
    dims = {"video_dim": 16, "audio_dim": 8, "clip_dim": 8, "clap_dim": 4}
    root = make_synthetic_root(tmp_path / "ucf", "ucf", videos_scale=0.1, **dims)
    imported = import_authors_root(root, "ucf")
    assert imported.summary["classes_per_split"] == {
        "stage_1_train": 30, "stage_1_val_seen": 30, "stage_1_val_unseen": 12,
        "stage_2_test_seen": 42, "stage_2_test_unseen": 6,
    }
    assert imported.summary["num_classes"] == 101
    assert (imported.summary["visual_dim"], imported.summary["audio_dim"]) == (16, 8)
    assert imported.classes.schema == classes_schema(8, 4)


# ---- every broken input gives a DataError that names the file at fault -------------------------


def test_wrong_layout_root(tmp_path):
    (tmp_path / "features").mkdir()
    with pytest.raises(DataError, match=f"no class-split/ folder under {esc(tmp_path)}: expected the authors' layout"):
        import_authors_root(tmp_path, "ucf")
    (tmp_path / "class-split").mkdir()
    with pytest.raises(DataError, match="no features/cls_features_non_averaged/ folder under"):
        import_authors_root(tmp_path, "ucf")


def test_missing_split_folder(tiny_root):
    folder = tiny_root / FEATURES_SUBDIR / "audio" / "stage_1_val_seen"
    shutil.rmtree(folder)
    with pytest.raises(DataError, match=f"audio features of split stage_1_val_seen: folder not found: {esc(folder)}"):
        import_authors_root(tiny_root, "ucf")


def test_missing_split_list(tiny_root):
    path = tiny_root / "class-split" / "cls_split" / "stage_2_test_seen.txt"
    path.unlink()
    with pytest.raises(DataError, match=esc(path)):
        import_authors_root(tiny_root, "ucf")


def test_truncated_pickle(tiny_root):
    path = feature_file(tiny_root, "video", "stage_1_val_unseen")
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=f"{esc(path)}: truncated or corrupt pickle"):
        import_authors_root(tiny_root, "ucf")


def test_audio_dims_disagree_between_class_files(tiny_root):
    path = feature_file(tiny_root, "audio", "stage_1_val_seen", 1)

    def shorten(payload):
        payload["features"] = [vector[:1000] for vector in payload["features"]]

    rewrite_pickle(path, shorten)
    with pytest.raises(DataError, match=f"{esc(path)}: audio vectors have 1000 values, but .*audio.*has 1024"):
        import_authors_root(tiny_root, "ucf")


def test_ragged_vectors_in_one_file(tiny_root):
    path = feature_file(tiny_root, "video", "stage_1_train")
    rewrite_pickle(path, set_vector(1, np.ones(7, np.float32)))
    with pytest.raises(DataError, match=f"{esc(path)}: vectors of different sizes"):
        import_authors_root(tiny_root, "ucf")
    rewrite_pickle(path, set_vector(1, np.ones((2, 512), np.float32)))
    with pytest.raises(DataError, match=f"{esc(path)}: the vector of video .* has shape \\(2, 512\\)"):
        import_authors_root(tiny_root, "ucf")


def test_nan_in_a_vector(tiny_root):
    path = feature_file(tiny_root, "video", "stage_2_test_seen", 2)
    names = pickle.loads(path.read_bytes())["video_names"]
    vector = np.ones(512, np.float32)
    vector[5] = np.nan
    rewrite_pickle(path, set_vector(1, vector))
    with pytest.raises(DataError, match=f"{esc(path)}: NaN or infinite values in the vector of video '{names[1]}'"):
        import_authors_root(tiny_root, "ucf")


def test_duplicate_video_id_across_splits(tiny_root):
    source = feature_file(tiny_root, "video", "stage_1_train")
    repeated = pickle.loads(source.read_bytes())["video_names"][0]
    targets = [feature_file(tiny_root, modality, "stage_2_test_seen") for modality in ("video", "audio")]
    for path in targets:
        rewrite_pickle(path, lambda payload: payload["video_names"].__setitem__(0, repeated))
    with pytest.raises(DataError, match=f"video id '{repeated}' occurs more than once, in .*{esc(targets[0])}"):
        import_authors_root(tiny_root, "ucf")


def test_duplicate_video_id_within_a_file(tiny_root):
    path = feature_file(tiny_root, "audio", "stage_1_train")
    rewrite_pickle(path, lambda payload: payload["video_names"].__setitem__(1, payload["video_names"][0]))
    with pytest.raises(DataError, match=f"{esc(path)}: duplicate video name"):
        import_authors_root(tiny_root, "ucf")


def test_audio_and_video_list_different_videos(tiny_root):
    path = feature_file(tiny_root, "audio", "stage_1_train", 2)
    rewrite_pickle(path, lambda payload: payload["video_names"].__setitem__(0, "v_stranger"))
    video_path = feature_file(tiny_root, "video", "stage_1_train", 2)
    with pytest.raises(DataError, match=f"{esc(video_path)} and {esc(path)} list different videos"):
        import_authors_root(tiny_root, "ucf")


def test_fewer_vectors_than_video_names(tiny_root):
    path = feature_file(tiny_root, "video", "stage_1_val_unseen")
    rewrite_pickle(path, lambda payload: payload["features"].pop())
    with pytest.raises(DataError, match=f"{esc(path)}: .* vectors for .* video names; expected one vector per video"):
        import_authors_root(tiny_root, "ucf")


def test_empty_class_file(tiny_root):
    path = feature_file(tiny_root, "video", "stage_1_train")
    rewrite_pickle(path, lambda payload: payload.update(features=[], video_names=[], fps=[]))
    with pytest.raises(DataError, match=f"{esc(path)}: no videos"):
        import_authors_root(tiny_root, "ucf")


def test_overlapping_seen_and_unseen_lists(tiny_root):
    lists = read_class_splits(tiny_root / "class-split").lists
    path = tiny_root / "class-split" / "cls_split" / "stage_1_val_unseen.txt"
    path.write_text("\n".join([*lists["stage_1_val_unseen"], lists["stage_1_train"][1]]))
    with pytest.raises(DataError, match=f"{esc(path)} and .*stage_1_train.txt share classes"):
        import_authors_root(tiny_root, "ucf")


def test_listed_class_without_pickle(tiny_root):
    path = feature_file(tiny_root, "audio", "stage_2_test_unseen")
    path.unlink()
    with pytest.raises(DataError, match=f"{esc(path.parent)}: no pickle for classes '{path.stem}'"):
        import_authors_root(tiny_root, "ucf")


def test_pickle_of_unknown_class(tiny_root):
    path = feature_file(tiny_root, "video", "stage_1_train")
    stranger = path.with_name("NoSuchClass.pkl")
    shutil.copy(path, stranger)
    with pytest.raises(DataError, match=f"{esc(stranger)}: class 'NoSuchClass' is not in all_class.txt"):
        import_authors_root(tiny_root, "ucf")


def test_pickle_of_class_outside_the_split_list(tiny_root):
    splits = read_class_splits(tiny_root / "class-split")
    outsider = splits.lists["stage_1_val_unseen"][0]
    for modality in ("video", "audio"):
        source = next((tiny_root / FEATURES_SUBDIR / modality / "stage_1_val_unseen").glob(f"{outsider}.pkl"))
        shutil.copy(source, tiny_root / FEATURES_SUBDIR / modality / "stage_2_test_unseen" / source.name)
    imported = import_authors_root(tiny_root, "ucf")
    assert imported.summary["unlisted_pickles_dropped"] == {"stage_2_test_unseen": [outsider]}
    assert imported.summary["videos_per_split"] == SHAPES["tiny"].videos
    folder = tiny_root / FEATURES_SUBDIR / "video" / "stage_2_test_unseen"
    with pytest.raises(DataError, match=f"{esc(folder)}: pickles for classes '{outsider}' that are not in"):
        import_authors_root(tiny_root, "ucf", unlisted_classes="error")


def test_malicious_feature_pickle(tiny_root):
    path = feature_file(tiny_root, "video", "stage_1_val_seen")
    marker = tiny_root / "marker"
    path.write_bytes(pickle.dumps({"features": [MarkerPayload(marker)], "video_names": ["x"]}, protocol=4))
    with pytest.raises(UnsafePickleError, match=f"{esc(path)}: refused to load global 'io.open'"):
        import_authors_root(tiny_root, "ucf")
    assert not marker.exists()


def test_malicious_text_npy(tiny_root):
    path = tiny_root / TEXT_FILE
    marker = tiny_root / "marker"
    buffer = io.BytesIO()
    np.save(buffer, {"Class Alpha 01": MarkerPayload(marker)}, allow_pickle=True)
    path.write_bytes(buffer.getvalue())
    with pytest.raises(UnsafePickleError, match=f"{esc(path)}: refused to load global 'io.open'"):
        import_authors_root(tiny_root, "ucf")
    assert not marker.exists()


def test_text_missing_a_class(tiny_root):
    path = tiny_root / FEATURES_SUBDIR / "text" / "wavcaps_word_embeddings_ucf_normed.npy"
    vectors = np.load(path, allow_pickle=True).item()
    vectors.pop("Theta Class 01")
    np.save(path, vectors)
    with pytest.raises(DataError, match=f"{esc(path)}: no vector for 1 classes of all_class.txt: 'ClassTheta01'"):
        import_authors_root(tiny_root, "ucf")


def test_every_split_is_present_in_the_table(tiny_root):
    imported = import_authors_root(tiny_root, "ucf")
    assert set(imported.features["split"].to_pylist()) == set(SPLITS)
