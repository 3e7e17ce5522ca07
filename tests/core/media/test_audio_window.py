"""Long inputs cost what the method uses: audio beyond the encoder's window is neither stored nor (PyAV) decoded."""
from __future__ import annotations

import wave

import numpy as np
import pytest

from avgzsl.media.split import split_videos
from avgzsl.media.store import MediaStore
from avgzsl.media.timeline import AUDIO_MARGIN_S

from tests.helpers.media import ff, needs_ffmpeg

pytestmark = needs_ffmpeg
RATE, WINDOW_S = 16000, 10.0


@pytest.fixture(scope="module")
def long_silent(tmp_path_factory):
    """A 20-minute silent video (2×2 px at 1 fps: long, yet quick to make and small)."""
    path = tmp_path_factory.mktemp("long") / "long_silent.mp4"
    ff("-f", "lavfi", "-i", "color=c=black:s=16x16:r=1:d=1200", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono",
       "-t", "1200", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "8k", str(path))
    return path


def _wav(path) -> tuple[int, np.ndarray]:
    with wave.open(str(path), "rb") as w:
        return w.getnframes(), np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


@pytest.mark.parametrize("backend", ["pyav", "ffmpeg"])
def test_a_long_videos_audio_keeps_only_the_encoders_window(long_silent, tmp_path, backend):
    store = MediaStore(tmp_path / "store")
    (res,) = split_videos([("long", long_silent)], store, sample_rate=RATE, audio_window_s=WINDOW_S, backend=backend)
    assert res.status == "ok", res.reason
    samples, _ = _wav(res.audio_path)
    kept = WINDOW_S + 2 * AUDIO_MARGIN_S
    assert abs(samples / RATE - kept) < 0.1  # not 20 minutes
    assert (tmp_path / "store").stat().st_size < 10 << 20
    whole = split_videos([("whole", long_silent)], MediaStore(tmp_path / "whole"), sample_rate=RATE,
                         backend=backend)[0]
    assert abs(_wav(whole.audio_path)[0] / RATE - 1200) < 1  # without a window: the whole track, as before


@pytest.mark.parametrize("backend", ["pyav", "ffmpeg"])
def test_the_encoder_sees_the_same_centre_and_short_audio_is_untouched(media_corpus, tmp_path, backend):
    """The 3 s corpus clip under a 0.5 s window: the cut track's centre 0.5 s are the whole track's, sample for
    sample, shifted by at most 10 ms (the window is centred on the file's duration; this clip's AAC track outlasts
    it by 18 ms)."""
    clip = media_corpus["mp4"]
    whole = split_videos([("v", clip)], MediaStore(tmp_path / "a"), sample_rate=RATE, backend=backend)[0]
    cut = split_videos([("v", clip)], MediaStore(tmp_path / "b"), sample_rate=RATE, audio_window_s=0.5,
                       backend=backend)[0]
    (n, full), (m, part) = _wav(whole.audio_path), _wav(cut.audio_path)
    assert m < n and abs(m / RATE - (0.5 + 2 * AUDIO_MARGIN_S)) < 0.05
    length = RATE // 2
    centre = full[n // 2 - length // 2: n // 2 - length // 2 + length].astype(float)
    start = m // 2 - length // 2
    def error(lag: int) -> float:
        return np.abs(part[start + lag: start + lag + length] - centre).mean()

    best = min(range(-RATE // 100, RATE // 100 + 1), key=error)
    assert abs(best) <= RATE // 100 and np.abs(part[start + best: start + best + length] - centre).max() <= 2
    same = split_videos([("v", clip)], MediaStore(tmp_path / "c"), sample_rate=RATE, audio_window_s=60.0,
                        backend=backend)[0]
    assert _wav(same.audio_path)[0] == n  # a track within the window is stored whole
