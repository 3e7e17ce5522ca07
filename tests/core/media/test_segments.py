"""Segments ``[start, end)`` on every source: youtube cuts at download, http and file:// are cut by the split.

A 10 s clip whose first half is red with a 440 Hz tone and second half blue with 880 Hz:
``[1, 4)`` must give a red middle frame and 3 s of 440 Hz, through the shard functions
the assets call (manifest rows -> download ledger -> split ledger), from file:// and
from a loopback HTTP server that misbehaves on purpose.
"""
from __future__ import annotations

import wave

import numpy as np
import polars as pl
import pytest

from avgzsl.data.datasets import MANIFEST_COLUMNS, DatasetSpec, shard_key
from avgzsl.layout import DatasetPaths
from avgzsl.media.ledger import read_ledger
from avgzsl.media.shards import MediaSettings, download_shard, split_shard

from tests.helpers.media import MediaServer, ff, needs_ffmpeg, pixels, temp_files

pytestmark = needs_ffmpeg
SEG = (1.0, 4.0)
HTTP_OK = ["good", "flaky", "busy", "slow"]
HTTP_BAD = {"missing": "HTTP 404", "truncated": "truncated body", "page": "text/html"}


@pytest.fixture(scope="module")
def red_blue(tmp_path_factory):
    path = tmp_path_factory.mktemp("segments") / "red_blue.mp4"
    colour = "color=c={}:s=160x120:r=25:d=5,noise=alls=8:allf=t"
    ff("-f", "lavfi", "-i", colour.format("red"), "-f", "lavfi", "-i", colour.format("blue"),
       "-f", "lavfi", "-i", "sine=f=440:r=44100:d=5", "-f", "lavfi", "-i", "sine=f=880:r=44100:d=5",
       "-filter_complex", "[0:v][2:a][1:v][3:a]concat=n=2:v=1:a=1[v][a]", "-map", "[v]", "-map", "[a]",
       "-c:v", "libx264", "-preset", "veryfast", "-g", "1000", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2",
       str(path))
    return path


@pytest.fixture(scope="module")
def server(red_blue):
    with MediaServer({"good": (red_blue.read_bytes(), "video/mp4"), "other": (b"", "video/webm")}, slow_s=0.3) as s:
        yield s


def dataset(tmp_path, red_blue, server) -> tuple[DatasetSpec, DatasetPaths]:
    uri = red_blue.as_uri()
    rows = [("file", uri, *SEG), ("file_whole", uri, None, None), ("file_outside", uri, 12.0, 15.0),
            ("file_backwards", uri, 4.0, 1.0)]
    rows += [(f"http_{n}", server.url(f"/{n}.mp4"), *SEG) for n in HTTP_OK + list(HTTP_BAD)]
    paths = DatasetPaths(tmp_path / "state" / "data" / "seg")
    paths.root.mkdir(parents=True)
    pl.DataFrame([dict(zip(["video_id", "url", "start_seconds", "end_seconds"], r), class_name="c",
                       split="stage_1_train", shard=0) for r in rows],
                 schema_overrides={"start_seconds": pl.Float64, "end_seconds": pl.Float64, "shard": pl.Int32}
                 ).select(MANIFEST_COLUMNS).write_parquet(paths.manifest)
    return DatasetSpec("seg", root=str(tmp_path), allowed_roots=(str(red_blue.parent),)).validate(), paths


def tone_hz(path: str) -> tuple[float, float]:
    """(seconds, dominant frequency) of a mono WAV."""
    with wave.open(path) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float64)
        rate = w.getframerate()
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return len(x) / rate, float(np.fft.rfftfreq(len(x), 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize("backend", ["pyav", "ffmpeg"])
def test_segments_from_file_and_http(tmp_path, red_blue, server, backend):
    spec, paths = dataset(tmp_path, red_blue, server)
    settings = MediaSettings(retries=2, backoff_s=0.01, timeout_s=5.0, split_backend=backend)
    down = {r.video_id: r for r in download_shard(spec, paths, 0, settings)}
    for n in HTTP_OK:
        assert down[f"http_{n}"].status == "ok", down[f"http_{n}"].reason
    for n, why in HTTP_BAD.items():
        assert down[f"http_{n}"].status == "failed" and why in down[f"http_{n}"].reason
    assert down["file_backwards"].status == "failed" and "bad segment" in down["file_backwards"].reason
    assert down["file"].start_seconds == 1.0 and down["file"].end_seconds == 4.0

    results, not_downloaded = split_shard(spec, paths, 0, settings)
    res = {r.video_id: r for r in results}
    assert not_downloaded == len(HTTP_BAD) + 1
    for vid in ["file"] + [f"http_{n}" for n in HTTP_OK]:
        r = res[vid]
        assert r.status == "ok", (vid, r.reason)
        red, green, blue = pixels(r.frame_paths[0]).reshape(-1, 3).mean(axis=0)
        assert red > 180 and blue < 80, (vid, red, blue)  # the middle of [1, 4) is red
        seconds, hz = tone_hz(r.audio_path)
        assert seconds == pytest.approx(3.0, abs=0.03) and hz == pytest.approx(440, abs=3), vid
    red, green, blue = pixels(res["file_whole"].frame_paths[0]).reshape(-1, 3).mean(axis=0)
    assert blue > 180 and red < 80  # the whole clip's middle frame is the first blue one (5.0 s)
    assert tone_hz(res["file_whole"].audio_path)[0] == pytest.approx(10.0, abs=0.03)
    assert res["file_outside"].status == "failed" and "outside the media" in res["file_outside"].reason

    rows = {r["video_id"]: r for r in read_ledger(paths.ledger("split", shard_key("seg", 0)))}
    assert (rows["file"]["start_seconds"], rows["file"]["end_seconds"]) == SEG
    assert (rows["file_whole"]["start_seconds"], rows["file_whole"]["end_seconds"]) == (None, None)
    assert rows["file_outside"]["status"] == "failed" and rows["file_outside"]["start_seconds"] == 12.0
    assert temp_files(paths.root) == []

    hits = dict(server.hits)
    again = {r.video_id: r.status for r in download_shard(spec, paths, 0, settings)}
    assert all(again[f"http_{n}"] == "skipped" for n in HTTP_OK) and again["file"] == "skipped"
    assert all(server.hits[f"/{n}.mp4"] == hits[f"/{n}.mp4"] for n in HTTP_OK)  # nothing fetched again
    assert {r.video_id: r.status for r in split_shard(spec, paths, 0, settings)[0]}["file"] == "skipped"


def test_youtube_segments_are_not_cut_twice(tmp_path, red_blue, server):
    """A youtube: file already is the segment: the split takes all of it."""
    from avgzsl.media.download import DOWNLOAD_SCHEMA, DownloadResult
    from avgzsl.media.ledger import write_ledger

    spec, paths = dataset(tmp_path, red_blue, server)
    pl.DataFrame({"video_id": ["yt"], "class_name": ["c"], "split": ["stage_1_train"],
                  "url": ["youtube:abcdefghijk"], "start_seconds": [6.0], "end_seconds": [9.0],
                  "shard": [0]}, schema_overrides={"shard": pl.Int32}).write_parquet(paths.manifest)
    ledger = paths.ledger("download", shard_key("seg", 0))
    write_ledger([DownloadResult("yt", "ok", url="youtube:abcdefghijk", path=str(red_blue), start_seconds=6.0,
                                 end_seconds=9.0)], ledger, DOWNLOAD_SCHEMA)
    (r,), _ = split_shard(spec, paths, 0, MediaSettings())
    assert r.status == "ok" and (r.start_seconds, r.end_seconds) == (None, None)
    assert tone_hz(r.audio_path)[0] == pytest.approx(10.0, abs=0.03)
