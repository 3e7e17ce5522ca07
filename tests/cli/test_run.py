"""`avgzsl run DATASET --until download|split`: manifest, shards, ledgers, reruns (the checks: tests/assets)."""
from __future__ import annotations

import json

import polars as pl

from pipelines.cli import main


def run_json(capsys, *args) -> dict:
    assert main(["run", *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_run_until_split_ledgers_every_video_and_a_rerun_skips_everything(state_home, demo_original, capsys):
    first = run_json(capsys, demo_original, "--until", "split")
    assert first["download"] == {**first["download"], "ok": 38, "failed": 0, "skipped": 0}
    assert (first["split"]["ok"], first["split"]["failed"]) == (37, 1)
    ledger = pl.read_parquet(f"{first['split']['ledger']}/*.parquet")
    assert {"video_id", "status", "reason"} <= set(ledger.columns)
    broken = ledger.filter(pl.col("video_id") == "broken-video").row(0, named=True)
    assert broken["status"] == "failed" and "moov atom not found" in broken["reason"]
    silent = ledger.filter(pl.col("has_audio").not_())
    assert silent.height == 1 and silent["reason"][0] == "no audio stream"
    ok = ledger.filter(pl.col("status") == "ok")
    assert all(p.startswith(str(state_home.data_dir)) for p in ok["audio_path"].drop_nulls())

    again = run_json(capsys, demo_original, "--until", "split")
    assert (again["download"]["skipped"], again["download"]["ok"]) == (38, 0)
    assert (again["split"]["skipped"], again["split"]["ok"], again["split"]["failed"]) == (37, 0, 1)


def test_shard_range_and_until_download_do_only_that_work(state_home, demo_original, capsys):
    got = run_json(capsys, demo_original, "--until", "download", "--shards", "1..2")
    assert set(got) == {"download"}
    assert got["download"]["ok"] == 24  # shards of 12 videos
    files = sorted(p.name for p in (state_home.data_dir / "demo" / "ledgers" / "download").iterdir())
    assert files == ["demo-0001.parquet", "demo-0002.parquet"]


def test_unknown_dataset_is_a_clear_error(state_home, tmp_path, capsys):
    assert main(["run", str(tmp_path / "nowhere")]) == 1
    assert "neither a benchmark" in capsys.readouterr().err


def ledger(state_home, stage: str) -> pl.DataFrame:
    return pl.read_parquet(state_home.dataset("demo").root / "ledgers" / stage / "*.parquet")


def test_a_video_of_an_unseen_class_in_training_stops_the_manifest(state_home, demo_dataset, capsys):
    path = demo_dataset / "class-split" / "cls_split" / "stage_1_train.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].split(",")[0] + ",violet gong"  # a test-unseen class
    path.write_text("\n".join(lines) + "\n")
    assert main(["run", str(demo_dataset), "--until", "download"]) == 1
    err = capsys.readouterr().err
    assert f"{path}, line 3: class 'violet gong' is not in cls_split/stage_1_train.txt" in err
    assert "stage_2_test_unseen.txt" in err and not state_home.dataset("demo").manifest.exists()


def test_a_grown_dataset_processes_only_the_new_video_and_ledgers_hold_each_video_once(state_home, demo_dataset,
                                                                                     capsys):
    run_json(capsys, demo_dataset, "--until", "split")
    video = demo_dataset / "videos" / "0-new.mp4"  # sorts before every other id of its split
    video.write_bytes((demo_dataset / "videos" / "stage_1_train-amber_bell-0.mp4").read_bytes())
    with open(demo_dataset / "class-split" / "cls_split" / "stage_1_train.csv", "a") as f:
        f.write("0-new,amber bell\n")
    with open(demo_dataset / "sources.csv", "a") as f:
        f.write(f"0-new,{video.as_uri()},,\n")
    grown = run_json(capsys, demo_dataset, "--until", "split")
    assert (grown["download"]["ok"], grown["download"]["skipped"]) == (1, 38)
    assert (grown["split"]["ok"], grown["split"]["skipped"]) == (1, 37)
    again = run_json(capsys, demo_dataset, "--until", "split")
    assert (again["download"]["ok"], again["split"]["ok"]) == (0, 0)
    for stage in ("download", "split"):
        rows = ledger(state_home, stage)
        assert rows.height == rows["video_id"].n_unique() == 39  # one current row per video (the broken one: failed)


def test_a_video_whose_download_now_fails_loses_its_split_row(state_home, demo_dataset, capsys):
    run_json(capsys, demo_dataset, "--until", "split")
    sources = demo_dataset / "sources.csv"
    text = sources.read_text()
    first = text.splitlines()[1].split(",")[1]
    sources.write_text(text.replace(first, "file:///etc/passwd", 1))  # outside the dataset: refused
    out = run_json(capsys, demo_dataset, "--until", "split")
    assert out["download"]["failed"] == 1
    vid = text.splitlines()[1].split(",")[0]
    assert ledger(state_home, "download").filter(pl.col("video_id") == vid)["status"].to_list() == ["failed"]
    assert vid not in ledger(state_home, "split")["video_id"].to_list()


def test_a_reversed_shard_range_is_refused_before_any_work(state_home, demo_original, capsys):
    assert main(["run", str(demo_original), "--until", "download", "--shards", "9..3"]) == 1
    assert "--shards 9..3: the range is reversed" in capsys.readouterr().err
    assert not state_home.dataset("demo").manifest.exists()
