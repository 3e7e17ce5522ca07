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
