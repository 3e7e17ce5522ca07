"""`avgzsl ui`: both UIs answer on 127.0.0.1, a taken port is replaced, and Ctrl-C leaves no process behind."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.servers import REPO, free_port

pytestmark = pytest.mark.slow


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc), followed through process groups and sessions too."""
    parent_of = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parent_of[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        children = {p for p, parent in parent_of.items() if parent in frontier} - found
        found |= children
        frontier = children
    return found


def _alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(pid)
    return out


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.timeout(300)
def test_ui_serves_dagster_and_mlflow_and_ctrl_c_stops_every_child(state_home, tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    busy, mlflow_port = taken.getsockname()[1], free_port()
    log = open(tmp_path / "ui.out", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "ui", "--dagster-port", str(busy),
                             "--mlflow-port", str(mlflow_port)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "AVGZSL_HOME": str(state_home.home)}, start_new_session=True)
    try:
        started, urls = time.monotonic(), {}
        while time.monotonic() - started < 60 and len(urls) < 2:
            log.seek(0)
            urls = dict(re.findall(r"(dagster|mlflow): (http://127\.0\.0\.1:\d+)", log.read()))
            assert proc.poll() is None, log.read()
            time.sleep(0.5)
        assert set(urls) == {"dagster", "mlflow"}, open(tmp_path / "ui.out").read()
        assert urls["mlflow"] == f"http://127.0.0.1:{mlflow_port}"
        assert urls["dagster"] != f"http://127.0.0.1:{busy}"  # the taken port was replaced
        assert _answers(urls["dagster"] + "/server_info") and _answers(urls["mlflow"] + "/health")
        children = _descendants(proc.pid)
        assert len(children) >= 2
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 15
        while _alive(children) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _alive(children) == set()
        assert not _answers(urls["dagster"] + "/server_info") and not _answers(urls["mlflow"] + "/health")
    finally:
        taken.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in _alive(_descendants(proc.pid)):
            os.kill(pid, signal.SIGKILL)
