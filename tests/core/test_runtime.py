"""The one device resolver and the torch thread setting."""
import pytest
import torch

from avgzsl.runtime import THREADS_ENV, DeviceError, configure_threads, resolve_device


def test_resolve_device():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(DeviceError, match="Unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no usable CUDA"):
            resolve_device("cuda")


def test_configure_threads_prefers_the_argument_then_the_environment(monkeypatch):
    before = torch.get_num_threads()
    try:
        assert configure_threads(1) == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv(THREADS_ENV, "2")
        assert configure_threads() == 2 and torch.get_num_threads() == 2
        assert configure_threads(1) == 1
    finally:
        torch.set_num_threads(before)


def test_the_automatic_thread_count_and_split_ignore_the_load(monkeypatch):
    """Same numbers whatever the load: the automatic choices depend on the available cores only."""
    import os

    from avgzsl.runtime import Execution

    monkeypatch.delenv(THREADS_ENV, raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    before = torch.get_num_threads()
    try:
        choices = []
        for load in (0.0, 3.9, 64.0):  # idle, busy, overloaded
            monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, load, load))
            choices.append((configure_threads(), Execution().resolve(1), Execution().resolve(3),
                            Execution(parallel=2).resolve(8)))
        # One thread per run whatever the load and --parallel (a variant's numbers are the same in a
        # sweep as in reproduce); the cores (affinity: 4) are used by runs side by side.
        assert choices == [(1, (1, 1), (3, 1), (2, 1))] * 3
        assert Execution().resolve(8) == (4, 1)
    finally:
        torch.set_num_threads(before)
