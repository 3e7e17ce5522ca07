"""EncoderInfo, device resolution, hub env handling, the pipelined batching engine."""
import os
import threading

import numpy as np
import pytest

from avgzsl.encoders import hf_offline
from avgzsl.encoders.base import EncoderError, EncoderInfo, resolve_device
from avgzsl.encoders.batching import collect_or_raise, pipelined_encode


def test_info_metadata_is_flat_strings():
    info = EncoderInfo("laion_clap", "HTSAT-tiny", "random", "seed=0", 512, 48000, "cpu", "float32")
    meta = info.as_metadata()
    assert meta["embed_dim"] == "512" and meta["sample_rate"] == "48000" and meta["family"] == "laion_clap"
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
    meta = EncoderInfo("open_clip", "ViT-B-32", "pretrained", "openai", 512, None, "cpu", "float32").as_metadata()
    assert meta["sample_rate"] == ""


def test_resolve_device():
    import torch

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(EncoderError, match="Unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(EncoderError, match="no usable CUDA"):
            resolve_device("cuda")


def test_apply_hub_env_patches_imported_constants_and_restores(tmp_path):
    from huggingface_hub import constants

    before = (constants.HF_HUB_OFFLINE, constants.HF_HUB_CACHE, os.environ.get("HF_HUB_CACHE"))
    restore = hf_offline.apply_hub_env(offline=True, hub_cache=tmp_path)
    assert constants.HF_HUB_OFFLINE is True and constants.HF_HUB_CACHE == str(tmp_path)
    assert os.environ["HF_HUB_OFFLINE"] == "1" and hf_offline.is_offline()
    restore()
    assert (constants.HF_HUB_OFFLINE, constants.HF_HUB_CACHE, os.environ.get("HF_HUB_CACHE")) == before


def test_fetch_hub_file_offline_fails_fast_with_fix(tmp_path):
    restore = hf_offline.apply_hub_env(offline=True, hub_cache=tmp_path / "empty")
    try:
        with pytest.raises(EncoderError) as err:
            hf_offline.fetch_hub_file("org/repo", ["w.pt"], tmp_path / "state", what="test weights",
                                      local_alternative="pass a path")
    finally:
        restore()
    msg = str(err.value)
    assert "HF_HUB_OFFLINE=1" in msg and "hf_hub_download('org/repo', 'w.pt'" in msg and "pass a path" in msg


def _read(path):
    if path.endswith("bad"):
        raise ValueError(f"corrupt {path}")
    return int(path.split("-")[1])


def _encode(items):
    return np.array([[float(i), 1.0] for i in items], dtype=np.float32)


@pytest.mark.parametrize("workers", [0, 1, 3])
def test_pipelined_encode_order_indices_and_errors(workers):
    paths = [f"f-{i}" + ("-bad" if i in (2, 7) else "") for i in range(10)]
    seen = list(pipelined_encode(paths, 4, _read, _encode, 2, prefetch_workers=workers))
    assert [len(i) + len(e) for i, _, e in seen] == [4, 4, 2]
    idx = np.concatenate([i for i, _, _ in seen])
    emb = np.concatenate([e for _, e, _ in seen])
    assert idx.tolist() == [0, 1, 3, 4, 5, 6, 8, 9]
    assert emb[:, 0].tolist() == idx.tolist()
    errors = [e for _, _, errs in seen for e in errs]
    assert [(e.index, e.path) for e in errors] == [(2, "f-2-bad"), (7, "f-7-bad")]
    assert "ValueError: corrupt f-2-bad" == errors[0].error


def test_pipelined_all_failed_batch_and_collect():
    out = list(pipelined_encode(["x-bad", "y-bad"], 2, _read, _encode, 2, prefetch_workers=1))
    assert out[0][0].shape == (0,) and out[0][1].shape == (0, 2) and len(out[0][2]) == 2
    stream = pipelined_encode(["f-1", "f-2-bad"], 2, _read, _encode, 2)
    with pytest.raises(EncoderError, match=r"1 of 2 file\(s\) could not be read"):
        collect_or_raise(stream, 2, 2)
    np.testing.assert_array_equal(collect_or_raise(pipelined_encode(["f-5"], 2, _read, _encode, 2), 1, 2),
                                  [[5.0, 1.0]])


def test_pipelined_close_early_stops_workers():
    before = threading.active_count()
    gen = pipelined_encode([f"f-{i}" for i in range(100)], 2, _read, _encode, 2, prefetch_workers=2)
    next(gen)
    gen.close()
    assert threading.active_count() <= before


def test_hub_mode_restores_constants_imported_inside_the_window():
    import subprocess
    import sys

    code = (
        "import os; os.environ.pop('HF_HUB_OFFLINE', None); os.environ.pop('TRANSFORMERS_OFFLINE', None)\n"
        "from avgzsl.encoders import hf_offline\n"
        "with hf_offline.hub_mode(offline=True):\n"
        "    import huggingface_hub.constants as c\n"
        "    assert c.HF_HUB_OFFLINE is True\n"
        "assert c.HF_HUB_OFFLINE is False and 'HF_HUB_OFFLINE' not in os.environ\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
