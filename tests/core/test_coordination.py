"""Processes sharing a state folder: a file lock held by one process only, process tokens that outlive their pid,
claims that name their holder, helpers that die with their parent."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from avgzsl.coordination import (DIES_WITH_PARENT, alive_since, claim, file_lock, pid_alive, process_start_time,
                                 process_token, token_alive)

TRY_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    sys.exit(3)
"""


def _try_lock(path) -> int:
    return subprocess.run([sys.executable, "-c", TRY_LOCK, str(path)]).returncode


def test_a_file_lock_excludes_other_processes_while_held_and_dies_with_its_holder(tmp_path):
    path = tmp_path / "locks" / "init.lock"
    with file_lock(path):
        assert _try_lock(path) == 3
    assert _try_lock(path) == 0
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR)"
                               "; fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
                               str(path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    holder.kill()  # kill -9 while holding: the kernel releases the lock
    holder.wait()
    with file_lock(path):
        pass


def test_a_token_names_this_process_and_says_whether_it_still_runs():
    token = process_token()
    host, pid, started = token.rsplit(":", 2)
    assert host == socket.gethostname() and int(pid) == os.getpid()
    assert abs(float(started) - process_start_time(os.getpid())) < 0.01
    assert token_alive(token) is True
    assert token_alive(f"elsewhere.example:{pid}:{started}") is None  # another host: unknowable here


def test_a_dead_process_and_a_reused_pid_are_not_alive():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    token = process_token(child.pid)
    assert token_alive(token) is True and alive_since(child.pid, time.time())
    child.kill()
    child.wait()
    assert not pid_alive(child.pid) and token_alive(token) is False
    host, pid, started = process_token().rsplit(":", 2)
    assert token_alive(f"{host}:{pid}:{float(started) - 3600:.2f}") is False  # this pid, but started an hour later
    assert not alive_since(os.getpid(), time.time() - 3600)  # started after the run began: a reused pid


def test_a_claim_names_its_holder_to_whoever_waits_and_passes_on_when_released(tmp_path):
    path, held, release = tmp_path / "locks" / "variant-ucf-a.lock", threading.Event(), threading.Event()

    def holder():
        with claim(path) as waited:
            assert not waited
            held.set()
            release.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(30)
    seen = []

    def waiting(token: str) -> None:
        seen.append(token)
        if len(seen) == 3:
            release.set()

    with claim(path, waiting, poll_s=0.01) as waited:
        assert waited and _try_lock(path) == 3
    thread.join()
    assert seen[0] == process_token()  # the holder, named in the file
    assert _try_lock(path) == 0

    def give_up(token: str) -> None:
        raise KeyboardInterrupt

    with claim(path):  # a waiter may stop waiting (Ctrl-C)
        with pytest.raises(KeyboardInterrupt):
            with claim(path, give_up):
                pass


DIES = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import os, sys, time; from avgzsl.coordination import die_with_parent; "
                          "die_with_parent(os.getppid()); print(os.getpid(), flush=True); time.sleep(60)"],
                         stdout=subprocess.PIPE, text=True)
print(child.stdout.readline().strip(), flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not DIES_WITH_PARENT, reason="PR_SET_PDEATHSIG is Linux only")
def test_a_process_that_asks_to_die_with_its_parent_does_when_the_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", DIES], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.getcwd()})
    child = int(parent.stdout.readline())
    assert pid_alive(child)
    parent.kill()  # kill -9: no chance to clean up
    parent.wait()
    deadline = time.monotonic() + 30
    while pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(child)
