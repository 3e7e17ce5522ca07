"""Child processes (ffmpeg, ffprobe, decoder workers) that die with the process that started them.

On Linux every child asks the kernel for ``SIGKILL`` when its parent goes away
(``prctl(PR_SET_PDEATHSIG)``, set between ``fork`` and ``exec``), so a run killed with
``kill -9`` leaves no ffmpeg decoding on; the temporary files it was writing are removed
by the next run (:func:`avgzsl.media.store.remove_stale_temps`).

The kernel sends the signal when the *thread* that started the child ends, so a child
must be started by the thread that waits for it (every caller here does: a
``subprocess.run`` in a pool thread, a worker process owned by one driver thread).
Elsewhere (macOS, Windows) children are started plainly.
"""
from __future__ import annotations

import functools
import os
import subprocess
from typing import Callable

from avgzsl import coordination


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child die with this process (None where unsupported)."""
    if not coordination.DIES_WITH_PARENT:
        return None
    return functools.partial(coordination.die_with_parent, os.getpid())


def run(argv: list[str], timeout: float | None = None, **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run`` with stdin closed and the child tied to this process."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(argv, timeout=timeout, preexec_fn=die_with_parent(), **kwargs)


def popen(argv: list[str], **kwargs) -> subprocess.Popen:
    """``subprocess.Popen`` with the child tied to this process."""
    return subprocess.Popen(argv, preexec_fn=die_with_parent(), **kwargs)
