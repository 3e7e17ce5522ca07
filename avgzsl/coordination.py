"""How processes that share one state folder coordinate: file locks and process identities.

* :func:`file_lock` serialises work that must happen once (creating the Dagster
  storage and the MLflow database on first use) between processes, with ``flock`` on
  a file in the state folder; the kernel drops the lock when its holder dies, so a
  killed process never leaves it held.
* A *process token* (``host:pid:start time``) names the process that owns a run;
  :func:`token_alive` says whether that very process still runs (a reused pid has
  another start time), so a run whose process is gone can be marked failed.
* A *claim* (:func:`claim`) is a file lock that names its holder (its token is written
  into the file), for work that one process of several does while the others wait: a
  sweep's variant is claimed before it is trained.
* :func:`die_with_parent` asks the kernel to kill this process when its parent ends
  (``prctl(PR_SET_PDEATHSIG)``, Linux), so helpers never outlive a killed command.
"""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# Start times are read with a resolution of 1/CLK_TCK s from a boot time in whole seconds.
_START_SLACK_S = 2.0


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) while the block runs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def claim(path: Path, waiting: Callable[[str], None] | None = None, poll_s: float = 0.2) -> Iterator[bool]:
    """Hold ``path``'s lock with this process's token in it; yields whether another holder was waited for.

    While another process holds it, ``waiting(its token)`` is called at every poll (it may
    raise to give up).  The kernel drops the lock when its holder dies.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    waited = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = True
                if waiting is not None:
                    waiting(os.pread(fd, 200, 0).decode("utf-8", "replace").strip())
                time.sleep(poll_s)
        os.ftruncate(fd, 0)
        os.pwrite(fd, process_token().encode(), 0)
        yield waited
    finally:
        os.close(fd)  # closing the descriptor releases the lock


PR_SET_PDEATHSIG = 1


def _load_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()
DIES_WITH_PARENT = _PRCTL is not None  # whether :func:`die_with_parent` works here


def die_with_parent(parent: int) -> bool:
    """In a child of ``parent``: be killed (SIGKILL) when the parent's thread that started it ends.

    Exits at once when the parent is already gone.  False where unsupported (not Linux).
    Safe between ``fork`` and ``exec`` (no imports, no allocations beyond ctypes' own).
    """
    if _PRCTL is None:
        return False
    _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    return True


def _boot_time() -> float | None:
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None when unknown or gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    boot = _boot_time()
    if boot is None:
        return None
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime in clock ticks


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (any owner)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if os.path.exists(f"/proc/{pid}/stat"):
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":  # a zombie: dead, not yet reaped
                    return False
    return True


def process_token(pid: int | None = None) -> str:
    """``host:pid:start time`` of this (or the given) process."""
    pid = os.getpid() if pid is None else pid
    started = process_start_time(pid)
    return f"{socket.gethostname()}:{pid}:{'' if started is None else f'{started:.2f}'}"


def token_alive(token: str) -> bool | None:
    """Whether the process a token names still runs; None when it ran on another host (unknowable here)."""
    rest = token.split(":")
    if len(rest) < 3 or not rest[-2].isdigit():
        return None
    host, pid, started = ":".join(rest[:-2]), int(rest[-2]), rest[-1]
    if host != socket.gethostname():
        return None
    return started_by(pid, float(started) if started else None)


def started_by(pid: int, started: float | None) -> bool:
    """Whether ``pid`` is alive and is the process that started at ``started`` (when known)."""
    if not pid_alive(pid):
        return False
    if started is None:
        return True
    now = process_start_time(pid)
    return now is None or abs(now - started) <= _START_SLACK_S


def alive_since(pid: int, not_after: float) -> bool:
    """Whether ``pid`` is alive and started no later than ``not_after`` (else the pid was reused)."""
    if not pid_alive(pid):
        return False
    started = process_start_time(pid)
    return started is None or started <= not_after + _START_SLACK_S
