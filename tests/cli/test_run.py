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
