"""``avgzsl ui``: the Dagster UI and the MLflow UI on 127.0.0.1, over the state folder, until Ctrl-C.

Each server runs in its own process group; SIGINT or SIGTERM stops both groups (SIGTERM,
then SIGKILL after a grace period), so no child survives.  A port that is taken is
replaced by a free one.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from avgzsl.layout import StateLayout
from pipelines.state import environment

HOST = "127.0.0.1"
GRACE_S = 10.0


def free_port(preferred: int) -> int:
    """``preferred`` if nothing listens there on 127.0.0.1, else a free port the OS picks."""
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise OSError("no free port on 127.0.0.1")


def commands(layout: StateLayout, dagster_port: int, mlflow_port: int) -> dict[str, list[str]]:
    bin_dir = Path(sys.executable).parent
    return {
        "dagster": [str(bin_dir / "dagster"), "dev", "-h", HOST, "-p", str(dagster_port), "-m", "pipelines.definitions"],
        "mlflow": [str(bin_dir / "mlflow"), "ui", "--backend-store-uri", layout.mlflow_uri, "--host", HOST,
                   "--port", str(mlflow_port), "--workers", "1"],
    }


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except OSError:
        return False


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM every process group, then SIGKILL what is left after the grace period."""
    for p in processes:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + GRACE_S
    for p in processes:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(p.pid, signal.SIGKILL)  # the group may outlive its leader
        except ProcessLookupError:
            pass


def serve(layout: StateLayout, dagster_port: int, mlflow_port: int, log_dir: Path, say=print,
          ready_timeout_s: float = 120.0) -> int:
    """Start both UIs, print their URLs once they answer, and wait for Ctrl-C / SIGTERM."""
    ports = {"dagster": free_port(dagster_port), "mlflow": free_port(mlflow_port)}
    env = {**os.environ, **environment(layout)}
    log_dir.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen] = []
    stopping = {"signal": None}

    def on_signal(signum, _frame):
        stopping["signal"] = signum

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for name, argv in commands(layout, ports["dagster"], ports["mlflow"]).items():
            log = open(log_dir / f"{name}-ui.log", "ab")
            processes.append(subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                              start_new_session=True))
        urls = {name: f"http://{HOST}:{port}" for name, port in ports.items()}
        say(f"starting the Dagster UI and the MLflow UI (logs: {log_dir})")
        pending, deadline = dict(urls), time.monotonic() + ready_timeout_s
        while pending and stopping["signal"] is None and time.monotonic() < deadline:
            for name, url in list(pending.items()):
                if _answers(url):
                    say(f"{name:>8}: {url}")
                    pending.pop(name)
            if any(p.poll() is not None for p in processes):
                say("a UI exited early; see its log in " + str(log_dir))
                return 1
            time.sleep(0.5)
        if pending and stopping["signal"] is None:
            say(f"not answering after {ready_timeout_s:.0f} s: {', '.join(pending)} (see {log_dir})")
        else:
            say("press Ctrl-C to stop both")
        while stopping["signal"] is None and all(p.poll() is None for p in processes):
            time.sleep(0.3)
        return 0
    finally:
        stop(processes)
        for s, handler in previous.items():
            signal.signal(s, handler)
