"""Downloads over HTTP (a misbehaving local server), file:// and yt-dlp: retries, skips, refusals."""
from __future__ import annotations

import hashlib
import os

import pytest

from avgzsl.media import download as dl
from avgzsl.media.download import Bounds, Permanent, Source, download_sources, looks_like_text, youtube_url
from avgzsl.media.ledger import read_ledger
from avgzsl.media.probe import probe
from avgzsl.media.store import MediaStore

from tests.helpers.media import MediaServer, files_under, ledger_file, needs_ffmpeg, temp_files

FAST = dict(retries=2, backoff_s=0.01, timeout_s=5.0)


@pytest.fixture(scope="module")
def server(media_corpus):
    files = {"good": (media_corpus["mp4"].read_bytes(), "video/mp4"),
             "other": (media_corpus["webm"].read_bytes(), "video/webm")}
    with MediaServer(files) as srv:
        yield srv


@needs_ffmpeg
def test_http_sources(server, tmp_path):
    store = MediaStore(tmp_path / "store")
    good = server.files["good"][0]
    names = ["good", "other", "missing", "flaky", "busy", "slow", "truncated", "page", "sniff"]
    ext = {"other": ".webm"}
    srcs = [Source(n, server.url(f"/{n}{ext.get(n, '.mp4')}")) for n in names]
    res = {r.video_id: r for r in download_sources(srcs, store, ledger_path=ledger_file(store, "download"), **FAST)}

    for n in ("good", "flaky", "busy", "slow"):
        r = res[n]
        assert r.status == "ok", (n, r.reason)
        assert r.sha256 == hashlib.sha256(good).hexdigest() and r.bytes == len(good)
        assert open(r.path, "rb").read() == good and store.root in type(store.root)(r.path).parents
    assert res["other"].path.endswith(".webm") and probe(res["other"].path).video_codec == "vp9"
    assert (res["flaky"].attempts, server.hits["/flaky.mp4"]) == (2, 2)  # 500, then retried
    assert (res["busy"].attempts, server.hits["/busy.mp4"]) == (2, 2)  # 429, then retried
    assert res["missing"].status == "failed" and res["missing"].reason == "HTTP 404 Not Found"
    assert res["missing"].attempts == 1 and server.hits["/missing.mp4"] == 1  # permanent: no retry
    assert res["truncated"].status == "failed" and "truncated body" in res["truncated"].reason
    assert res["truncated"].attempts == 3 and server.hits["/truncated.mp4"] == 3
    assert res["page"].status == "failed" and "text/html" in res["page"].reason
    assert res["sniff"].status == "failed" and "text/html" in res["sniff"].reason
    assert temp_files(store.root) == []
    assert sorted(p.suffix for p in files_under(store.root / "videos")) == [".json"] * 5 + [".mp4"] * 4 + [".webm"]
    assert {r["video_id"]: r["status"] for r in read_ledger(ledger_file(store, "download"))} == {
        n: res[n].status for n in names}

    hits = dict(server.hits)
    again = {r.video_id: r for r in download_sources(srcs[:6], store, **FAST)}
    assert {n: r.status for n, r in again.items()} == {
        "good": "skipped", "other": "skipped", "missing": "failed", "flaky": "skipped", "busy": "skipped",
        "slow": "skipped"}
    assert again["good"].sha256 == res["good"].sha256
    for n in ("good", "other", "flaky", "busy", "slow"):
        path = f"/{n}{ext.get(n, '.mp4')}"
        assert server.hits[path] == hits[path], n  # nothing fetched again
    assert server.hits["/missing.mp4"] == hits["/missing.mp4"] + 1  # failures are retried


def test_timeout_is_transient_then_fails(server, tmp_path):
    store = MediaStore(tmp_path)
    (r,) = download_sources([Source("s", server.url("/slow.mp4"))], store, retries=1, backoff_s=0.01, timeout_s=0.1)
    assert r.status == "failed" and "timed out" in r.reason and r.attempts == 2
    assert temp_files(store.root) == [] and store.find_videos("s") == []


def test_a_trickling_server_ends_at_each_bound(server, tmp_path):
    """2 GB announced, 1 KB/s sent: the stall speed, the size cap and the deadline each end it, with no temp left."""
    store, url = MediaStore(tmp_path), server.url("/trickle.mp4")
    cases = {"too slow: ": Bounds(stall_speed=10_000, stall_time_s=1.0, max_download_mb=None),
             "announces 2000 MB, over the 1024 MB cap (max_download_mb)": Bounds(),
             "deadline (1.5 s, deadline_s)": Bounds(stall_speed=0, max_download_mb=None, deadline_s=1.5)}
    for reason, bounds in cases.items():
        (r,) = download_sources([Source("t", url)], store, bounds=bounds, **FAST)
        assert r.status == "failed" and reason in r.reason and r.attempts == 1, r.reason
        assert temp_files(store.root) == [] and store.find_videos("t") == []
    assert server.hits["/trickle.mp4"] == 3


def test_file_urls(media_corpus, tmp_path):
    allowed = tmp_path / "allowed"
    (allowed / "sub").mkdir(parents=True)
    inside = allowed / "sub" / "a b.mp4"
    inside.write_bytes(media_corpus["mp4"].read_bytes())
    outside = tmp_path / "secret.mp4"
    outside.write_bytes(b"secret")
    (allowed / "link.mp4").symlink_to(outside)
    store = MediaStore(tmp_path / "store")
    srcs = [Source("in", inside.as_uri()), Source("out", outside.as_uri()),
            Source("link", (allowed / "link.mp4").as_uri()),
            Source("dotdot", "file://" + str(allowed) + "/sub/../../secret.mp4"),
            Source("none", (allowed / "nope.mp4").as_uri()), Source("bad", "ftp://x/y.mp4")]
    res = {r.video_id: r for r in download_sources(srcs, store, allowed_roots=[allowed])}
    assert res["in"].status == "ok" and open(res["in"].path, "rb").read() == inside.read_bytes()
    for k in ("out", "link", "dotdot"):
        assert (res[k].status, res[k].reason) == ("failed", "file:// outside allowed folders"), k
    assert res["none"].reason == "file not found" and "unsupported url scheme" in res["bad"].reason
    assert [r.status for r in download_sources(srcs[:1], store, allowed_roots=[allowed])] == ["skipped"]


def test_youtube_url():
    assert youtube_url("dQw4w9WgXcQ") == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    for bad in ("abc", "../../etc/pa", "dQw4w9WgXcQ&list=x", "-" * 12, "", None):
        with pytest.raises(Permanent):
            youtube_url(bad)


def test_looks_like_text():
    assert looks_like_text(b"  <!DOCTYPE html><html>") and looks_like_text(b'{"error": 1}')
    assert looks_like_text(b"Access denied\n")
    assert not looks_like_text(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00") and not looks_like_text(b"RIFF\x10\x00\x00\x00AVI ")


@needs_ffmpeg
def test_youtube_path_through_ytdlp(server, tmp_path, monkeypatch):
    """yt-dlp cannot reach YouTube here: its generic extractor fetches local URLs instead."""
    import yt_dlp  # noqa: F401  (a dependency: the test fails, never skips, without it)
    local = {"okokokokok1": "/good.mp4", "okokokokok2": "/good.mp4", "gonegonegon": "/missing.mp4"}
    monkeypatch.setattr(dl, "youtube_url", lambda yid: server.url(local[yid]))
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n")
    store = MediaStore(tmp_path / "store")
    srcs = [Source("whole", "youtube:okokokokok1"), Source("gone", "youtube:gonegonegon"),
            Source("cut", "youtube:okokokokok2", 0.5, 1.5)]
    res = {r.video_id: r for r in download_sources(srcs, store, cookies_file=cookies, rate_limit=10_000_000,
                                                   **FAST)}
    assert res["whole"].status == "ok", res["whole"].reason
    assert open(res["whole"].path, "rb").read() == server.files["good"][0]
    assert res["gone"].status == "failed" and "404" in res["gone"].reason and res["gone"].attempts == 1
    assert res["cut"].status == "ok", res["cut"].reason
    assert probe(res["cut"].path).duration_s == pytest.approx(1.0, abs=0.3)  # [0.5, 1.5), not 3 s
    assert cookies.read_text() == "# Netscape HTTP Cookie File\n"  # yt-dlp wrote to a private copy
    assert temp_files(store.root) == [] and not [p for p in (store.root / "videos").rglob("*") if ".tmp-" in p.name]
    again = download_sources(srcs, store, **FAST)
    assert [r.status for r in again] == ["skipped", "failed", "skipped"]
    assert os.path.exists(again[0].path)
