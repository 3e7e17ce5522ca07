"""Processes sharing a state folder: a file lock held by one process only, process tokens that outlive their pid."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from avgzsl.coordination import alive_since, file_lock, pid_alive, process_start_time, process_token, token_alive

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
