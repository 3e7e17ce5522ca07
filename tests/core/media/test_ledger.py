"""Ledgers: one Parquet row per video and stage, round trips, validation and summaries."""
from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from avgzsl.media.download import DownloadResult
from avgzsl.media.ledger import (DOWNLOAD_SCHEMA, SPLIT_SCHEMA, read_ledger, summarize,
                                 write_ledger)
from avgzsl.media.split import SplitResult


def _rows():
    return [
        SplitResult("a", "ok", frame_paths=["/s/f.png"], audio_path="/s/a.wav", duration_s=10.0,
                    has_audio=True, input_sha256="ab" * 32, sample_rate=48000, n_frames=1, elapsed_s=0.1),
        SplitResult("b", "ok", "no audio stream", frame_paths=["/s/g.png"], has_audio=False),
        {"video_id": "c", "status": "failed", "reason": "moov atom not found"},
        {"video_id": "d", "status": "failed", "reason": "moov atom not found"},
        {"video_id": "e", "status": "failed", "reason": "empty file (0 bytes)"},
        {"video_id": "f", "status": "skipped", "reason": "up to date"},
    ]


def test_split_ledger_roundtrip(tmp_path):
    path = write_ledger(_rows(), tmp_path / "l" / "split.parquet")
    assert pq.read_schema(path).names == SPLIT_SCHEMA.names
    rows = read_ledger(path)
    assert [r["video_id"] for r in rows] == list("abcdef")
    assert rows[0]["frame_paths"] == ["/s/f.png"] and rows[0]["has_audio"] is True
    assert rows[2]["frame_paths"] is None and rows[5]["reason"] == "up to date"
    assert list(path.parent.iterdir()) == [path]  # no temp file left


def test_download_ledger_and_inference(tmp_path):
    rows = [DownloadResult("a", "ok", url="http://x/a.mp4", path="/s/a.mp4", sha256="0" * 64, bytes=3,
                           attempts=2),
            DownloadResult("b", "failed", "HTTP 404 Not Found", url="http://x/b.mp4", attempts=1)]
    path = write_ledger(rows, tmp_path / "dl.parquet")
    assert pq.read_schema(path).names == DOWNLOAD_SCHEMA.names
    assert read_ledger(path)[0]["attempts"] == 2


def test_bad_rows_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="status"):
        write_ledger([{"video_id": "a", "status": "done"}], tmp_path / "x.parquet")
    with pytest.raises(ValueError, match="not in the schema"):
        write_ledger([{"video_id": "a", "status": "ok", "colour": 1}], tmp_path / "x.parquet")
    assert read_ledger(tmp_path / "missing.parquet") == []


def test_summarize():
    s = summarize(_rows())
    assert (s["ok"], s["failed"], s["skipped"], s["total"]) == (2, 3, 1, 6)
    assert s["top_reasons"][0] == ("moov atom not found", 2)
    assert ("empty file (0 bytes)", 1) in s["top_reasons"] and ("no audio stream", 1) in s["top_reasons"]
