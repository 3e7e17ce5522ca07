"""What a person sees at the terminal: progress while stages run, then a short summary.

* Libraries' output (Dagster's event stream, warnings, MLflow's and others' lines and
  progress bars) goes to ``<state>/logs/avgzsl.log``; ``-v`` shows it in the terminal
  too (and Dagster's console logger then shows DEBUG events).  The capture works on the process's file descriptors 1 and 2, so child
  processes (ffmpeg, pool workers) are captured as well.
* Progress comes from :mod:`avgzsl.progress` events: a live display (rich) on a
  terminal, plain lines otherwise (CI, pipes, ``--json``); ``-q`` shows neither.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

QUIET, NORMAL, VERBOSE = -1, 0, 1
PLAIN_EPOCH_LINES = 5  # without a live display: the first, the last and about this many epochs per stage
CLASS_TEXT_LINE_MIN = 100  # class lists at least this long show their encoding's progress without a live display


class Terminal:
    """The original stdout/stderr, the log file, and the progress display."""

    def __init__(self, log_path: Path, verbosity: int = NORMAL, plain: bool = False):
        self.log_path = Path(log_path)
        self.verbosity = verbosity
        self.out = sys.stdout
        self.err = sys.stderr
        self.live = (not plain and verbosity == NORMAL and _isatty(sys.stdout) and _isatty(sys.stderr))
        self.console = Console(file=self.err, highlight=False, soft_wrap=True)
        self.progress: Progress | None = None
        self.tasks: dict[str, int] = {}
        self.started: dict[str, float] = {}
        self.fifths: dict[str, int] = {}  # class_text: the last fifth of the classes shown in plain mode

    # -- output capture --------------------------------------------------------------------------
    @contextlib.contextmanager
    def captured(self) -> Iterator[None]:
        """Send everything written to fds 1 and 2 to the log file (with -v: to the terminal too)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        saved = {fd: os.dup(fd) for fd in (1, 2)}
        log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.out = io.TextIOWrapper(os.fdopen(os.dup(saved[1]), "wb", buffering=0), write_through=True)
        self.err = io.TextIOWrapper(os.fdopen(os.dup(saved[2]), "wb", buffering=0), write_through=True)
        self.console.file = self.err
        tee = _Tee(log, saved[2]) if self.verbosity >= VERBOSE else None
        try:
            os.write(log, f"\n==== avgzsl {' '.join(sys.argv[1:])} ({time.strftime('%Y-%m-%d %H:%M:%S')})\n".encode())
            for fd in (1, 2):
                os.dup2(tee.write_end if tee else log, fd)
            with self._display():
                yield
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            if tee:
                tee.close()
            os.close(log)
            self.out, self.err = sys.stdout, sys.stderr
            self.console.file = self.err

    @contextlib.contextmanager
    def _display(self) -> Iterator[None]:
        handler = _WarningLines(self)
        logging.getLogger("avgzsl").addHandler(handler)
        try:
            with self._live():
                yield
        finally:
            logging.getLogger("avgzsl").removeHandler(handler)

    @contextlib.contextmanager
    def _live(self) -> Iterator[None]:
        if not self.live:
            yield
            return
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn(),
                                 TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=self.console,
                                 transient=True, redirect_stdout=False, redirect_stderr=False)
        with self.progress:
            yield
        self.progress, self.tasks = None, {}

    # -- progress events ---------------------------------------------------------------------------
    def line(self, text: str) -> None:
        """A progress line (not shown with -q)."""
        if self.verbosity <= QUIET:
            return
        if self.progress is not None:
            self.progress.console.print(text)
        else:
            self.err.write(text + "\n")
            self.err.flush()

    def event(self, event: dict) -> None:
        """An :mod:`avgzsl.progress` event."""
        handler = getattr(self, f"_on_{event.get('kind')}", None)
        if handler is not None and self.verbosity > QUIET:
            handler(event)

    def _task(self, key: str, description: str, total: int | None, info: str = "") -> None:
        if self.progress is None:
            return
        if key in self.tasks:
            self.progress.update(self.tasks[key], description=description, total=total, info=info)
        else:
            self.tasks[key] = self.progress.add_task(description, total=total, info=info)

    def _advance(self, key: str, completed: int, info: str, description: str | None = None) -> None:
        if self.progress is not None and key in self.tasks:
            extra = {"description": description} if description else {}
            self.progress.update(self.tasks[key], completed=completed, info=info, **extra)

    def _done(self, key: str) -> None:
        if self.progress is not None and key in self.tasks:
            self.progress.remove_task(self.tasks.pop(key))

    def _on_stage(self, e: dict) -> None:
        self.line(f"▸ {e['name']}" + (f": {e['detail']}" if e.get("detail") else ""))

    def _on_class_text(self, e: dict) -> None:
        key, description = f"class_text {e['tower']}", f"{e['tower']} text of the classes"
        if self.progress is not None:
            self._task(key, description, e["total"], "")
            self._advance(key, e["done"], f"{e['done']}/{e['total']} classes")
            if e["done"] == e["total"]:
                self._done(key)
        elif e["total"] >= CLASS_TEXT_LINE_MIN:  # without a live display: a line per fifth of the classes
            fifth = e["done"] * 5 // e["total"]
            if fifth > self.fifths.get(key, -1):
                self.fifths[key] = fifth
                self.line(f"  {description}: {e['done']}/{e['total']} classes encoded")

    def _on_shards_started(self, e: dict) -> None:
        self.started[e["stage"]] = time.monotonic()
        self._task(e["stage"], f"{e['stage']:<10}", e["shards"], "")

    def _on_shard(self, e: dict) -> None:
        seconds = max(1e-9, time.monotonic() - self.started.get(e["stage"], time.monotonic()))
        rate = e["videos_so_far"] / seconds
        info = f"{e['ok_so_far']} ok · {e['failed_so_far']} failed · {rate:.1f} videos/s"
        if self.progress is not None:
            self._advance(e["stage"], e["done"], info)
        else:
            self.line(f"  {e['stage']} {e['key']}: {e['ok']} ok, {e['failed']} failed, {e['skipped']} skipped "
                      f"({e['done']}/{e['shards']} shards, {rate:.1f} videos/s)")

    def _on_shards_finished(self, e: dict) -> None:
        self._done(e["stage"])
        self.line(f"  {e['stage']}: {e['ok']} ok, {e['failed']} failed, {e['skipped']} skipped "
                  f"in {e['shards']} shard(s)")

    def _on_run_started(self, e: dict) -> None:
        if self.progress is not None:
            self._task(e["variant"], f"starting {e['variant']}", None, "")
        else:
            self.line(f"▸ train {e['dataset']} {e['variant']}")

    def _on_run_skipped(self, e: dict) -> None:
        self.line(f"  {e['variant']}: already trained on these features (skipped)")

    def _on_epoch(self, e: dict) -> None:
        info = f"loss {e['loss']:.4f} · val HM {e['val_hm']:.4f}"
        if self.progress is not None:
            self._task(e["variant"], f"{e['stage']} {e['variant']}", e["epochs"], info)
            self._advance(e["variant"], e["epoch"], info)
        elif e["epoch"] in (1, e["epochs"]) or e["epoch"] % -(-e["epochs"] // PLAIN_EPOCH_LINES) == 0:
            self.line(f"  {e['stage']} epoch {e['epoch']}/{e['epochs']}  {info}  ({e['variant']})")

    def _on_run_finished(self, e: dict) -> None:
        self._done(e["variant"])
        if self.progress is not None and not e.get("error"):
            self.line(f"  {e['variant']}: trained and evaluated")
        if e.get("error"):
            self.line(f"  {e['variant']}: failed: {e['error'].strip().splitlines()[-1]}")

    # -- results -----------------------------------------------------------------------------------
    def print(self, text: str = "") -> None:
        """Summary output: always shown, on stdout."""
        self.out.write(text + "\n")
        self.out.flush()

    def error(self, message: str) -> None:
        self.err.write(f"avgzsl: error: {message}\n")
        self.err.flush()


class _Tee:
    """A pipe whose reader copies everything to the log file and to the terminal (for -v)."""

    def __init__(self, log_fd: int, terminal_fd: int):
        self.read_end, self.write_end = os.pipe()
        self.targets = (log_fd, terminal_fd)
        self.thread = threading.Thread(target=self._copy, daemon=True)
        self.thread.start()

    def _copy(self) -> None:
        while chunk := os.read(self.read_end, 65536):
            for fd in self.targets:
                with contextlib.suppress(OSError):
                    os.write(fd, chunk)

    def close(self) -> None:
        os.close(self.write_end)
        self.thread.join(timeout=10)
        os.close(self.read_end)


class _WarningLines(logging.Handler):
    """The core's own warnings (something the user can act on) as one line each, once."""

    def __init__(self, term: Terminal):
        super().__init__(level=logging.WARNING)
        self.term, self.seen = term, set()

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text not in self.seen:
            self.seen.add(text)
            self.term.line(f"warning: {text}")


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
