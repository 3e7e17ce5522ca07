"""Dataset specs: dataset.yaml keys, overrides, validation, and specs written by older versions."""
from __future__ import annotations

import json

import pytest

from avgzsl.data.datasets import DatasetSpec, load_dataset_spec
from avgzsl.data.validate import DataError


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
