"""Decoder worker processes for the split: start, feed one video at a time, time out, restart.

Each worker is ``python -m avgzsl.media.worker`` (PyAV; :mod:`avgzsl.media.decode`),
started and driven by one thread of the parent, so that it dies with that thread's
process (:mod:`avgzsl.media.children`).  A video that makes its worker crash or
exceed ``timeout_s`` is a failed row with that reason; the worker is killed and the
next video gets a fresh one.  Nothing of a job is committed here: the caller gives
temporary output paths and commits them (:func:`avgzsl.media.split.split_videos`).
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import children

STARTUP_TIMEOUT_S = 120.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class WorkerError(Exception):
    """The worker died or timed out on a job; ``reason`` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class WorkerStartError(WorkerError):
    """No worker could be started (PyAV missing or broken): use the ffmpeg backend."""


def pyav_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("av") is not None


def _env() -> dict[str, str]:
    env = dict(os.environ)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([_PACKAGE_ROOT] + [p for p in paths if p != _PACKAGE_ROOT])
    return env


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"decoder process killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"decoder process killed by signal {-code}"
    return f"decoder process exited with code {code}"


class DecoderWorker:
    """One worker process; use it from the thread that created it (``with`` closes it)."""

    def __init__(self, command: list[str] | None = None):
        self.command = command or [sys.executable, "-m", "avgzsl.media.worker"]
        self.proc: subprocess.Popen | None = None
        self.buf = b""
        self.err = None

    def __enter__(self) -> "DecoderWorker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def _start(self) -> None:
        self.err = tempfile.TemporaryFile()
        try:
            self.proc = children.popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=self.err, env=_env(), bufsize=0)
        except OSError as e:
            raise WorkerStartError(f"cannot start a decoder worker: {e}") from None
        self.buf = b""
        try:
            ready = json.loads(self._line(STARTUP_TIMEOUT_S))
        except (WorkerError, ValueError) as e:
            self.kill()
            raise WorkerStartError(f"decoder worker did not start: {getattr(e, 'reason', e)}") from None
        if not ready.get("ready"):
            self.kill()
            raise WorkerStartError("decoder worker did not start")

    def call(self, job: dict, timeout_s: float) -> dict:
        """Run one job; its reply, or WorkerError (the worker is then gone)."""
        if self.proc is None or self.proc.poll() is not None:
            self.kill()  # a worker that exited between jobs: close its pipes before the next one
            self._start()
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died() from None
        try:
            return json.loads(self._line(timeout_s))
        except ValueError as e:
            self.kill()
            raise WorkerError(f"unreadable reply from the decoder worker: {e}") from None

    def _line(self, timeout_s: float) -> bytes:
        deadline = time.monotonic() + timeout_s
        fd = self.proc.stdout.fileno()
        poller = select.poll()  # not select.select: it fails on descriptors >= 1024
        poller.register(fd, select.POLLIN)
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise WorkerError(f"decoding timed out after {timeout_s:g}s")
            if not poller.poll(left * 1000):
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise self._died()
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def _died(self) -> WorkerError:
        code = self.proc.wait() if self.proc is not None else None
        tail = ""
        if self.err is not None:
            self.err.seek(0)
            lines = [x for x in self.err.read().decode("utf-8", "replace").splitlines() if x.strip()]
            tail = f": {lines[-1].strip()[:200]}" if lines else ""
        self.kill()
        return WorkerError(_death(code) + tail)

    def kill(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            for f in (self.proc.stdin, self.proc.stdout):
                if f is not None:
                    f.close()
        self.proc = None
        if self.err is not None:
            self.err.close()
            self.err = None

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
