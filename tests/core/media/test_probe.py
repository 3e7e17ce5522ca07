"""ffprobe/ffmpeg probing of real files: codecs, streams, durations, and the reasons of failures."""
from __future__ import annotations

import shutil

import pytest

from avgzsl.media.probe import MediaError, input_arg, parse_ffmpeg_dump, probe, probe_many

from tests.helpers.media import needs_ffmpeg

pytestmark = needs_ffmpeg

KINDS = {
    "avi": ("mpeg4", "mp3", "avi"),
    "mp4": ("h264", "aac", "mov,mp4,m4a,3gp,3g2,mj2"),
    "webm": ("vp9", "opus", "matroska,webm"),
    "mkv": ("h264", "flac", "matroska,webm"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_probe_good_files(media_corpus, kind):
    info = probe(media_corpus[kind])
    vcodec, acodec, fmt = KINDS[kind]
    assert info.has_video and info.has_audio
    assert (info.video_codec, info.audio_codec, info.format_name) == (vcodec, acodec, fmt)
    assert (info.width, info.height) == (96, 64)
    assert info.fps == pytest.approx(25)
    assert info.duration_s == pytest.approx(3.0, abs=0.06)


def test_probe_stream_presence(media_corpus):
    assert not probe(media_corpus["noaudio"]).has_audio
    only = probe(media_corpus["audioonly"])
    assert only.has_audio and not only.has_video and only.video_codec is None
    assert probe(media_corpus["short"]).duration_s == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("name, needle", [
    ("empty", "empty file"),
    ("random", "Invalid data found when processing input"),
    ("truncated", "moov atom not found"),
])
def test_probe_failures_carry_ffprobe_reason(media_corpus, name, needle):
    with pytest.raises(MediaError) as e:
        probe(media_corpus[name])
    assert needle in e.value.reason
    assert str(media_corpus[name]) not in e.value.reason  # the path is stripped


def test_probe_missing_file(tmp_path):
    with pytest.raises(MediaError, match="input not found"):
        probe(tmp_path / "nope.mp4")


def test_leading_dash_name_is_not_an_option(media_corpus, tmp_path, monkeypatch):
    odd = tmp_path / "-y -i x.mp4"
    shutil.copy(media_corpus["mp4"], odd)
    monkeypatch.chdir(tmp_path)
    assert input_arg("-y -i x.mp4") == "file:" + str(odd)
    assert probe("-y -i x.mp4").has_video


@pytest.mark.parametrize("method", ["ffmpeg", "ffprobe"])
def test_probe_many_keeps_order_and_survives_bad_files(media_corpus, tmp_path, method):
    names = ["avi", "random", "mp4", "empty", "audioonly", "truncated", "webm", "mkv"]
    paths = [media_corpus[n] for n in names] + [tmp_path / "missing.mp4"]
    out = probe_many(paths, method=method, chunk_size=4)
    assert len(out) == len(paths)
    for n, r in zip(names, out):
        bad = n in ("random", "empty", "truncated")
        assert isinstance(r, MediaError) == bad, n
        if not bad:
            ref = probe(media_corpus[n])
            assert (r.has_video, r.has_audio, r.video_codec, r.audio_codec) == (
                ref.has_video, ref.has_audio, ref.video_codec, ref.audio_codec)
            assert r.duration_s == pytest.approx(ref.duration_s, abs=0.011)
    assert "moov atom not found" in out[5].reason
    assert out[-1].reason == "input not found"


DUMP = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/x/a.mp4':
  Metadata:
    title           : Stream #9:9: Video: fake
  Duration: 00:01:02.50, start: 0.023000, bitrate: 797 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 640x360 [SAR 1:1 DAR 16:9], 720 kb/s, 29.97 fps, 29.97 tbr, 30k tbn (default)
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 69 kb/s (default)
Input #1, mp3, from 'file:/x/b.mp3':
  Duration: N/A, bitrate: N/A
  Stream #1:0: Audio: mp3, 44100 Hz, stereo, fltp, 128 kb/s
  Stream #1:1: Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 500x500, 90k tbr, 90k tbn (attached pic)
At least one output file must be specified
"""


def test_parse_ffmpeg_dump():
    infos = parse_ffmpeg_dump(DUMP)
    a, b = infos[0], infos[1]
    assert a.duration_s == pytest.approx(62.5) and a.start_s == pytest.approx(0.023)
    assert (a.width, a.height, a.fps, a.video_codec, a.audio_codec) == (640, 360, 29.97, "h264", "aac")
    assert a.audio_sample_rate == 44100 and a.format_name == "mov,mp4,m4a,3gp,3g2,mj2"
    assert b.duration_s is None and b.has_audio and not b.has_video  # cover art is not video
