"""Fixtures of the media tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.media import HAVE_FFMPEG, make_corpus


@pytest.fixture(scope="session")
def media_corpus(tmp_path_factory) -> dict[str, Path]:
    """Real media files made with ffmpeg (see :func:`tests.helpers.media.make_corpus`), once per session."""
    if not HAVE_FFMPEG:
        pytest.skip("ffmpeg/ffprobe not installed")
    return make_corpus(tmp_path_factory.mktemp("media_corpus"))
