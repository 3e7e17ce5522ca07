"""The content-addressed media store: keys, paths that stay inside the root, atomic commits."""
from __future__ import annotations

import hashlib
import re

import pytest

from avgzsl.media.store import MediaStore, commit, is_temp, media_key, temp_path
from tests.helpers.media import temp_files

ODD_IDS = ["../x y", "-rf x", "/etc/passwd", "a/../../b", "..", "ünï côdé", "x" * 500, "a\nb"]


def test_media_key_is_a_sha256_prefix():
    assert media_key("abc") == hashlib.sha256(b"abc").hexdigest()[:32]
    assert len({media_key(i) for i in ODD_IDS}) == len(ODD_IDS)
    with pytest.raises(ValueError):
        media_key("")


@pytest.mark.parametrize("vid", ODD_IDS)
def test_paths_stay_inside_root(tmp_path, vid):
    store = MediaStore(tmp_path / "store")
    paths = [store.video_path(vid, ".mp4"), store.sidecar_path(vid), store.audio_path(vid, 16000),
             store.frame_path(vid, 2, 3)]
    for p in paths:
        assert store.root in p.resolve().parents
        assert all(re.fullmatch(r"[0-9a-z_.]+", part) for part in p.relative_to(store.root).parts)
        assert p.parent.is_dir()
    assert not (tmp_path / "x y").exists() and not (tmp_path / "b").exists()


def test_layout(tmp_path):
    store = MediaStore(tmp_path)
    k = media_key("v1")
    assert store.frame_path("v1").relative_to(store.root).as_posix() == f"frames/n1/{k[:2]}/{k}_0.png"
    assert store.audio_path("v1").relative_to(store.root).as_posix() == f"audio/48000/{k[:2]}/{k}.wav"
    assert store.video_path("v1", "MP4").name == k + ".mp4"
    assert [p.name for p in store.frame_paths("v1", 3)] == [f"{k}_{i}.png" for i in range(3)]
    with pytest.raises(ValueError):
        store.frame_path("v1", 3, 3)
    for bad in ("../x", ".mp4/..", "", ".a b"):
        with pytest.raises(ValueError):
            store.video_path("v1", bad)


def test_atomic_write_helpers(tmp_path):
    store = MediaStore(tmp_path)
    final = store.video_path("v1", ".mp4")
    tmp = temp_path(final)
    assert tmp.parent == final.parent and tmp.suffix == ".mp4" and is_temp(tmp) and not is_temp(final)
    tmp.write_bytes(b"x")
    assert temp_files(store.root) == [tmp]
    commit(tmp, final)
    assert final.read_bytes() == b"x" and temp_files(store.root) == []
    assert store.find_videos("v1") == [final]


def test_stale_temps_of_dead_writers_are_removed(tmp_path):
    import os
    import subprocess
    import time

    from avgzsl.data.store import host_tag, temp_owner
    from avgzsl.media.store import remove_stale_temps

    store = MediaStore(tmp_path / "media")
    final = store.audio_path("v")
    old = time.time() - 2 * 86400

    made = []

    def temp(owner: str, age: float | None = None, folder: bool = False):
        made.append(owner)
        p = final.with_name(f".{final.stem}.tmp-{owner}{len(made):012x}{'' if folder else '.wav'}")
        (p.mkdir() or (p / "part").write_bytes(b"x")) if folder else p.write_bytes(b"x")
        if age is not None:
            os.utime(p, (age, age))
        return p

    mine = temp_path(final)
    mine.write_bytes(b"x")
    assert temp_owner(mine) == (os.getpid(), host_tag())
    gone = subprocess.Popen(["true"])
    gone.wait()
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        host = host_tag()
        other = "ffffff" if host != "ffffff" else "eeeeee"
        stale = [temp(f"{gone.pid}-{host}-"), temp(f"{sleeper.pid}-{host}-", age=time.time() - 3600),
                 temp(f"{gone.pid}-{host}-x", folder=True), temp(f"{os.getpid()}-{other}-", age=old), temp("", age=old)]
        kept = [mine, temp(f"{sleeper.pid}-{host}-"), temp(f"{gone.pid}-{other}-"), temp("y")]
        done = (tmp_path / "media" / "done.wav")
        done.write_bytes(b"x")
        # the sleeper's pid on a file older than the sleeper: a reused pid, not its writer
        assert sorted(remove_stale_temps(tmp_path, once=False)) == sorted(stale)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert all(p.exists() for p in kept + [done]) and not any(p.exists() for p in stale)
    assert remove_stale_temps(tmp_path) == [kept[1]]  # the sleeper is gone now
    assert remove_stale_temps(tmp_path) == []  # once per process and folder
