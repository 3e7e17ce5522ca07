"""What the schedules and the sensor act on: the automation YAML, its environment overrides, shard ranges."""
from __future__ import annotations

import pytest

from assets import SHARD_ASSETS
from pipelines.automation import AutomationConfig, dataset_shards, load_automation, shard_ranges


@pytest.fixture
def home(tmp_path, monkeypatch):
    for name in ("AVGZSL_AUTOMATION", "AVGZSL_REEXTRACT_DATASETS", "AVGZSL_WATCH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AVGZSL_HOME", str(tmp_path / "state"))
    (tmp_path / "state").mkdir()
    return tmp_path / "state"


def test_automation_config_reads_the_yaml_then_the_environment(home, tmp_path, monkeypatch):
    assert load_automation().datasets == () and load_automation().assets == SHARD_ASSETS
    (home / "automation.yaml").write_text("datasets: [demo, ucf]\nassets: [media_split, raw_videos]\n"
                                          "weights: random\n")
    config = load_automation()
    assert config.datasets == ("demo", "ucf") and config.assets == ("raw_videos", "media_split")
    assert config.shard_run_config() == {}  # no encoder step selected
    assert config.run_config(encoders=True)["resources"]["visual_encoder"] == {"config": {"weights": "random"}}
    monkeypatch.setenv("AVGZSL_REEXTRACT_DATASETS", "vggsound, demo")
    assert load_automation().datasets == ("vggsound", "demo")
    bad = tmp_path / "bad.yaml"
    bad.write_text("assets: [gzsl_evaluation]\n")
    monkeypatch.setenv("AVGZSL_AUTOMATION", str(bad))
    with pytest.raises(ValueError, match="assets must be among"):
        load_automation()


def test_watch_comes_from_the_yaml_or_the_environment(home, tmp_path, monkeypatch):
    (home / "automation.yaml").write_text("watch: [/data/a]\n")
    assert load_automation().watch == ("/data/a",)
    monkeypatch.setenv("AVGZSL_WATCH", f"/data/b:{tmp_path}")
    assert load_automation().watch == ("/data/b", str(tmp_path))


def test_a_named_file_wins_over_the_state_folders(home, tmp_path, monkeypatch):
    (home / "automation.yaml").write_text("datasets: [ucf]\n")
    other = tmp_path / "other.yaml"
    other.write_text("datasets: [vggsound]\n")
    monkeypatch.setenv("AVGZSL_AUTOMATION", str(other))
    assert load_automation().datasets == ("vggsound",)
    monkeypatch.setenv("AVGZSL_AUTOMATION", str(tmp_path / "absent.yaml"))
    assert load_automation() == AutomationConfig()


@pytest.mark.parametrize("text, message", [
    ("[a, b]\n", "expected a mapping with keys datasets, watch, assets, weights"),
    ("colour: red\n", "expected a mapping with keys"),
    ("datasets: ucf\n", "'datasets' must be a list of strings"),
    ("watch: [1, 2]\n", "'watch' must be a list of strings"),
    ("weights: imagenet\n", "weights must be one of pretrained, random"),
])
def test_bad_files_are_errors_naming_the_file(home, text, message):
    (home / "automation.yaml").write_text(text)
    with pytest.raises(ValueError, match=message) as error:
        load_automation()
    assert str(home / "automation.yaml") in str(error.value)


def test_encoder_run_config_only_when_an_encoder_step_runs():
    features = AutomationConfig(assets=("raw_videos", "visual_features"), weights="random")
    resources = features.shard_run_config()["resources"]
    assert resources["visual_encoder"] == {"config": {"weights": "random"}}
    assert resources["audio_encoder"] == {"config": {"text_tokenizer": "standin", "weights": "random"}}
    assert AutomationConfig(assets=("raw_videos", "visual_features")).shard_run_config() == {}  # default weights
    assert AutomationConfig(assets=("raw_videos",), weights="random").shard_run_config() == {}


def test_shard_ranges_are_the_contiguous_blocks_in_key_order():
    keys = ["demo-0000", "demo-0001", "ucf-0000", "demo-0002", "demo-0003", "demo-0004"]
    assert shard_ranges(keys, ["demo-0000", "demo-0001", "demo-0002", "demo-0004"]) == [
        ("demo-0000", "demo-0001"), ("demo-0002", "demo-0002"), ("demo-0004", "demo-0004")]
    assert shard_ranges(keys, keys) == [("demo-0000", "demo-0004")]
    assert shard_ranges(keys, []) == [] and shard_ranges(keys, ["other-0000"]) == []


def test_dataset_shards_picks_a_datasets_keys_and_ignores_foreign_ones():
    keys = ["demo-0000", "my-demo-0000", "demo-0001", "ucf-0000", "not a shard key"]
    assert dataset_shards(keys, "demo") == ["demo-0000", "demo-0001"]
    assert dataset_shards(keys, "my-demo") == ["my-demo-0000"]
    assert dataset_shards(keys, "vggsound") == []
