"""A dataset's spec (dataset.yaml), its manifest with stable shards, and the --shards syntax."""
from __future__ import annotations

import json

import polars as pl
import pytest

from avgzsl.data.datasets import DatasetSpec, assign_shards, build_manifest, load_dataset_spec, parse_shard_range
from avgzsl.data.validate import DataError
from avgzsl.errors import OptionError
from tests.helpers.data import esc, real_class_split


def _videos(*ids: str) -> pl.DataFrame:
    return pl.DataFrame({"video_id": list(ids)})


def shards_of(frame: pl.DataFrame) -> dict[str, int]:
    return dict(zip(frame["video_id"], frame["shard"]))


def test_shards_are_stable_when_videos_are_added_anywhere_or_removed():
    first = assign_shards(_videos(*"bcdefgh"), shard_size=3)
    assert shards_of(first) == {"b": 0, "c": 0, "d": 0, "e": 1, "f": 1, "g": 1, "h": 2}
    # 'a' sorts first and 'i'..'l' last: nobody moves; the new videos fill the last shard, then open new ones
    grown = assign_shards(_videos(*"abcdefghijkl"), shard_size=3, previous=first)
    assert {v: s for v, s in shards_of(grown).items() if v in shards_of(first)} == shards_of(first)
    assert shards_of(grown)["a"] == 2 and shards_of(grown)["i"] == 2 and shards_of(grown)["j"] == 3
    assert max(grown.group_by("shard").len()["len"]) <= 3
    # removing a whole shard retires its number; a rebuild from the same videos changes nothing
    shrunk = assign_shards(_videos(*"bcdhijkl"), shard_size=3, previous=grown)
    assert 1 not in set(shrunk["shard"]) and shards_of(shrunk)["h"] == 2
    assert assign_shards(_videos(*"bcdhijkl"), shard_size=3, previous=shrunk).equals(shrunk)
    assert assign_shards(_videos("m"), shard_size=3, previous=shrunk)["shard"].to_list() == [4]  # not a reused 1


def test_the_manifest_keeps_the_stored_assignment_only_for_the_same_shard_size(demo_dataset, state_home):
    spec = load_dataset_spec(demo_dataset)
    manifest = build_manifest(spec, demo_dataset / "class-split")
    assert manifest.group_by("shard").len().sort("shard")["len"].to_list() == [12, 12, 12, 2]
    paths = state_home.dataset(spec.name)
    paths.root.mkdir(parents=True)
    manifest.write_parquet(paths.manifest)
    paths.spec.write_text(spec.as_json())
    assert paths.previous_manifest(spec) is not None
    assert paths.previous_manifest(load_dataset_spec(demo_dataset, shard_size=5)) is None  # re-cut at the new size


def test_a_benchmark_manifest_drops_the_videos_of_classes_in_no_list():
    manifest = build_manifest(load_dataset_spec("ucf"), real_class_split("UCF"))
    assert manifest.height == 9 + 4 + 4 + 4 + (12 - 6)  # the fixture's videos, less 6 of classes in no list
    assert not {"BandMarching", "BrushingTeeth", "Typing"} & set(manifest["class_name"])


@pytest.mark.parametrize("yaml, message", [
    ("name: [1, 2]", "name must be a text, got \\[1, 2\\]"),
    ("name: d\nshard_size: abc", "shard_size must be a whole number, got 'abc'"),
    ("name: d\nn_frames: 2.5", "n_frames must be a whole number, got 2.5"),
    ("name: d\nshard_size: true", "shard_size must be a whole number, got True"),
    ("name: d\nallowed_roots: 5", "allowed_roots must be a list of folders, got 5"),
    ("name: d\nsample_rate: null", "sample_rate must be a whole number \\(Hz\\), got None"),
    ("name: d\nsample_rate: 100", "sample_rate 100: expected 8000..192000 Hz"),
    ("name: [", "not valid YAML"),
])
def test_a_bad_dataset_yaml_is_one_line_naming_the_file_and_the_key(tmp_path, yaml, message):
    (tmp_path / "dataset.yaml").write_text(yaml + "\n")
    with pytest.raises(DataError, match=f"^{esc(tmp_path / 'dataset.yaml')}: {message}") as error:
        load_dataset_spec(tmp_path)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("text, expected", [(None, None), ("", None), ("4", (4, 4)), ("1..3", (1, 3)),
                                            (" 2..2 ", (2, 2))])
def test_shard_ranges(text, expected):
    assert parse_shard_range(text) == expected


@pytest.mark.parametrize("text, message", [("9..3", "the range is reversed \\(first 9 > last 3\\); did you mean 3..9"),
                                           ("x", "expected 'a..b' or 'a'"), ("1..", "expected 'a..b' or 'a'"),
                                           ("-1", "shard numbers start at 0")])
def test_bad_shard_ranges_name_the_option(text, message):
    with pytest.raises(OptionError, match=f"^--shards .*{message}"):
        parse_shard_range(text)


def test_frame_policy_from_yaml_override_and_default(tmp_path):
    (tmp_path / "dataset.yaml").write_text("name: mine\nframe_policy: keyframe\n")
    assert load_dataset_spec(tmp_path).frame_policy == "keyframe"
    assert load_dataset_spec(tmp_path, frame_policy="exact").frame_policy == "exact"
    assert load_dataset_spec("ucf").frame_policy == "exact"
    (tmp_path / "dataset.yaml").write_text("name: mine\nframe_policy: nearest\n")
    with pytest.raises(DataError, match="frame_policy 'nearest': expected one of exact, keyframe"):
        load_dataset_spec(tmp_path)


def test_a_spec_written_before_frame_policy_reads_as_exact():
    old = json.loads(DatasetSpec("x").as_json())
    del old["frame_policy"]
    assert DatasetSpec.from_json(json.dumps(old)).frame_policy == "exact"
