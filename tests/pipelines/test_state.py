"""The state folder as Dagster uses it: its instance config, and keys of earlier versions migrated on first use."""
from __future__ import annotations

import dagster as dg

from avgzsl.layout import StateLayout
from pipelines.state import _OLD_DAGSTER_YAMLS, DAGSTER_YAML, environment, migrate_variant_keys, open_state


def test_the_dagster_config_monitors_runs_an_old_generated_one_is_upgraded_and_an_edited_one_kept(tmp_path,
                                                                                                 monkeypatch):
    layout = StateLayout.resolve(tmp_path / "state")
    for key in environment(layout):
        monkeypatch.delenv(key, raising=False)  # restored after the test
    open_state(layout)
    config = layout.dagster_home / "dagster.yaml"
    assert "LivenessRunLauncher" in config.read_text() and "enabled: false" in config.read_text()
    assert dg.DagsterInstance.get().run_launcher.__class__.__name__ == "LivenessRunLauncher"
    config.write_text(_OLD_DAGSTER_YAMLS[0])  # what earlier versions wrote, unedited
    open_state(layout)
    assert config.read_text() == DAGSTER_YAML
    config.write_text("# mine\n")
    open_state(layout)
    assert config.read_text() == "# mine\n"


def test_run_folders_and_partitions_of_earlier_keys_move_to_their_current_key_once(state_home, instance):
    runs = state_home.runs_dir
    for dataset, key in (("ucf", "published_both_both_name_s42"), ("ucf", "published_audio_clap_name_s7_e3_bpe60"),
                         ("activitynet", "published_both_both_name_s42_e20"), ("ucf", "visual_s1")):
        (runs / dataset / key / "report").mkdir(parents=True)
        (runs / dataset / key / "stage1.json").write_text(key)
    (runs / "ucf" / "published_visual_both_name_s1").mkdir()  # its current key is taken: kept as it is
    instance.add_dynamic_partitions("variant", ["published_both_both_name_s42", "published_both_both_name_s42_e20",
                                                "s42", "visual_s1"])

    moved = migrate_variant_keys(state_home, instance)
    assert moved == {"ucf/published_both_both_name_s42": "s42", "ucf/published_audio_clap_name_s7_e3_bpe60":
                     "audio_clap_s7_e3_bpe60", "activitynet/published_both_both_name_s42_e20": "s42_e20",
                     "published_both_both_name_s42": "s42", "published_both_both_name_s42_e20": "s42_e20"}
    assert sorted(p.name for p in (runs / "ucf").iterdir()) == ["audio_clap_s7_e3_bpe60", "published_visual_both_name_s1",
                                                               "s42", "visual_s1"]
    assert (runs / "ucf" / "s42" / "stage1.json").read_text() == "published_both_both_name_s42"  # contents kept
    assert (runs / "activitynet" / "s42_e20").is_dir()  # 15 epochs is activitynet's preset: 20 still shows
    assert sorted(instance.get_dynamic_partitions("variant")) == ["s42", "s42_e20", "visual_s1"]

    assert migrate_variant_keys(state_home, instance) == {}  # idempotent


def test_the_launcher_migrates_when_it_opens_the_state_folder(state_home):
    from pipelines import launch

    (state_home.runs_dir / "ucf" / "published_both_both_name_s42").mkdir(parents=True)
    launch._CACHE.clear()
    launch.instance(state_home)
    assert [p.name for p in (state_home.runs_dir / "ucf").iterdir()] == ["s42"]
