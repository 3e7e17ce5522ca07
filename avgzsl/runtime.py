"""Where and how torch runs: the one device resolver and the CPU thread count."""
from __future__ import annotations

import os

THREADS_ENV = "AVGZSL_TORCH_THREADS"


class DeviceError(RuntimeError):
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


def configure_threads(threads: int | None = None) -> int:
    """Torch intra-op threads for training: ``threads``, else ``$AVGZSL_TORCH_THREADS``, else 1.

    The network is small; on a 2-core machine a second thread costs more in
    synchronisation than it gains (see benchmarks/README.md).
    """
    import torch

    n = threads or int(os.environ.get(THREADS_ENV, "1"))
    torch.set_num_threads(n)
    return n
