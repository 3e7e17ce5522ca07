"""The pipelined batching engine: order, indices, per-file errors, early close."""
import threading

import numpy as np
import pytest

from avgzsl.encoders.base import EncoderError
from avgzsl.encoders.batching import collect_or_raise, pipelined_encode


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
