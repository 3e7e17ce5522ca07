"""Where and how torch runs: the one device resolver and the CPU thread count."""
from __future__ import annotations

import os
from dataclasses import dataclass

from avgzsl.errors import UserError

THREADS_ENV = "AVGZSL_TORCH_THREADS"


class DeviceError(UserError, RuntimeError):
    """A device was asked for that this machine does not have; the message says what to use."""


def resolve_device(device: str = "auto") -> str:
    """Map ``'auto' | 'cpu' | 'cuda' | 'cuda:N'`` to a concrete torch device string."""
    import torch

    name = (device or "auto").strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device={device!r} was requested but torch reports no usable CUDA device "
                              f"(torch {torch.__version__}). Use device='auto' or device='cpu'.")
        if ":" in name:
            index = int(name.split(":", 1)[1])
            if index >= torch.cuda.device_count():
                raise DeviceError(f"device={device!r} but only {torch.cuda.device_count()} CUDA device(s) exist.")
        return name
    raise DeviceError(f"Unknown device {device!r}: use 'auto', 'cpu', 'cuda' or 'cuda:N'.")


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity; all of the machine's where unknown)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


DEFAULT_THREADS = 1


def default_threads() -> int:
    """Torch threads per run when none are asked for: 1, on every machine and whatever its load.

    CPU results depend on the thread count (torch splits reductions such as BatchNorm's
    statistics by thread), so a fixed count gives the same numbers on any machine, in a
    ``reproduce`` and in a sweep at any ``--parallel``; a machine's cores are used by running
    runs side by side instead (:class:`Execution`).  benchmarks/README.md, "Threads", measures
    what a second thread buys (little: the model is a few small MLPs) and what it costs on a
    busy machine (oversubscription).
    """
    return DEFAULT_THREADS


def configure_threads(threads: int | None = None) -> int:
    """Torch intra-op threads: ``threads``, else ``$AVGZSL_TORCH_THREADS``, else :func:`default_threads`."""
    import torch

    n = threads or int(os.environ.get(THREADS_ENV, "0")) or default_threads()
    torch.set_num_threads(n)
    return n


def current_threads() -> int:
    """The torch intra-op thread count in effect (what a run records)."""
    import torch

    return torch.get_num_threads()


@dataclass(frozen=True)
class Execution:
    """How runs execute: at most ``parallel`` at once, ``threads`` torch threads each, on ``device``.

    0 means automatic: as many runs at once as available cores (CPU affinity; at most the
    number of runs), each with :func:`default_threads` (``$AVGZSL_TORCH_THREADS`` wins over
    that).  Nothing here looks at the machine's load, and the thread count does not depend on
    ``parallel``: a variant gives the same numbers in a sweep as in ``reproduce``.
    """

    parallel: int = 0
    threads: int = 0
    device: str = "auto"

    def resolve(self, n_runs: int) -> tuple[int, int]:
        parallel = self.parallel or max(1, min(n_runs, available_cores()))
        threads = self.threads or int(os.environ.get(THREADS_ENV, "0")) or default_threads()
        return parallel, threads
