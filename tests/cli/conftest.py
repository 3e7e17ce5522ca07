"""Fixtures of the CLI tests: disks that are small or read-only (real tmpfs mounts, by root or through `sudo -n`)."""
from __future__ import annotations

import os
import subprocess

import pytest


def _as_root(args: list[str]) -> list[str]:
    """The command as root: directly when this is root, else through passwordless sudo."""
    return args if os.geteuid() == 0 else ["sudo", "-n", *args]


@pytest.fixture
def small_disk(tmp_path):
    """A 64 MiB tmpfs owned by this user, mounted under the test's folder (unmounted after)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    options = f"size=64m,uid={os.getuid()},gid={os.getgid()}"
    done = subprocess.run(_as_root(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)]), capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here (needs root or passwordless sudo): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(_as_root(["umount", "-l", str(mount)]), capture_output=True)


@pytest.fixture
def remount_read_only():
    """``remount_read_only(mount)`` makes a :func:`small_disk` read-only."""
    return lambda mount: subprocess.run(_as_root(["mount", "-o", "remount,ro", str(mount)]), check=True)
