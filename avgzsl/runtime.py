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


def free_cores() -> int:
    """Cores not busy now: the machine's cores less the last minute's load (at least 1)."""
    cores = os.cpu_count() or 1
    try:
        busy = round(os.getloadavg()[0])
    except OSError:
        busy = 0
    return max(1, cores - busy)


def configure_threads(threads: int | None = None) -> int:
    """Torch intra-op threads: ``threads``, else ``$AVGZSL_TORCH_THREADS``, else the free cores."""
    import torch

    n = threads or int(os.environ.get(THREADS_ENV, "0")) or free_cores()
    torch.set_num_threads(n)
    return n


@dataclass(frozen=True)
class Execution:
    """How runs execute: at most ``parallel`` at once, ``threads`` torch threads each, on ``device``.

    0 means automatic: as many runs as free cores (at most the number of runs), and the
    free cores shared among them (``$AVGZSL_TORCH_THREADS`` wins over that).
    """

    parallel: int = 0
    threads: int = 0
    device: str = "auto"

    def resolve(self, n_runs: int) -> tuple[int, int]:
        free = free_cores()
        parallel = self.parallel or max(1, min(n_runs, free))
        threads = self.threads or int(os.environ.get(THREADS_ENV, "0")) or max(1, free // parallel)
        return parallel, threads
