"""Progress events: what a stage is doing now, for whoever shows it (the CLI's display).

The core and the assets ``emit`` small dicts (``{"kind": "epoch", ...}``); a caller that
wants them wraps its work in ``with reporting(sink):``.  Without a sink, ``emit`` does
nothing.  Sinks are per process and removed when the block ends.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

Sink = Callable[[dict], None]
_SINKS: list[Sink] = []
_LOCK = threading.Lock()


@contextlib.contextmanager
def reporting(sink: Sink) -> Iterator[None]:
    with _LOCK:
        _SINKS.append(sink)
    try:
        yield
    finally:
        with _LOCK:
            _SINKS.remove(sink)


def emit(kind: str, **fields) -> None:
    with _LOCK:
        sinks = list(_SINKS)
    for sink in sinks:
        sink({"kind": kind, **fields})
