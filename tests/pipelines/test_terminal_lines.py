"""What the plain (non-terminal) display and the pipeline summary say, without running anything."""
from __future__ import annotations

from pipelines import summaries
from pipelines.terminal import Terminal


def test_plain_output_shows_a_few_epochs_of_a_long_stage_and_every_epoch_of_a_short_one(tmp_path, capsys):
    terminal = Terminal(tmp_path / "log", plain=True)
    for epochs in (20, 3):
        for epoch in range(1, epochs + 1):
            terminal.event({"kind": "epoch", "stage": "stage1", "variant": "v", "epoch": epoch, "epochs": epochs,
                            "loss": 0.5, "val_hm": 0.25})
    shown = [line.split()[2] for line in capsys.readouterr().err.splitlines()]
    assert shown == ["1/20", "4/20", "8/20", "12/20", "16/20", "20/20", "1/3", "2/3", "3/3"]


def test_the_pipeline_summary_says_why_videos_failed():
    split = {"ok": 37, "failed": 3, "skipped": 0,
             "top_reasons": [["moov atom not found", 2], ["decoding timed out\nafter 60s", 1], ["no audio stream", 1]]}
    lines = summaries.pipeline({"split": split, "download": {"ok": 40, "failed": 0, "top_reasons": []}}, None).lines
    assert lines == ["download: 40 ok, 0 failed",
                     "split: 37 ok, 3 failed, 0 skipped — moov atom not found (2); decoding timed out after 60s (1)"]
