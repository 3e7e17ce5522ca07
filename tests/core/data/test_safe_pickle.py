"""The restricted unpickler: containers and numpy load, anything else is refused before it runs."""
from __future__ import annotations

import base64
import collections
import io
import pickle

import numpy as np
import pytest
from numpy.lib import format as npy_format

from avgzsl.data.safe_pickle import UnsafePickleError, safe_load_npy_object, safe_load_pickle
from avgzsl.data.validate import DataError
from tests.helpers.data import MarkerPayload, esc

# Written by numpy 2.4 (pickle protocol 5, so arrays use numpy._core.numeric._frombuffer, which
# numpy 1.26 cannot import by itself):
#   pickle.dump({"features": [np.ones(4, np.float32), np.ones((1, 4), np.float32)],
#                "video_names": np.array([b"v1", b"v2"]), "fps": [25, np.int64(25)]}, f, protocol=5)
NUMPY2_FEATURE_PICKLE = base64.b64decode(
    "gAWVbgEAAAAAAAB9lCiMCGZlYXR1cmVzlF2UKIwTbnVtcHkuX2NvcmUubnVtZXJpY5SMC19mcm9tYnVmZmVylJOUKJYQAAAAAAAAAAAAgD8AAIA/"
    "AACAPwAAgD+UjAVudW1weZSMBWR0eXBllJOUjAJmNJSJiIeUUpQoSwOMATyUTk5OSv////9K/////0sAdJRiSwSFlIwBQ5R0lFKUaAUolhAAAAAA"
    "AAAAAACAPwAAgD8AAIA/AACAP5RoDEsBSwSGlGgQdJRSlGWMC3ZpZGVvX25hbWVzlGgFKJYEAAAAAAAAAHYxdjKUaAmMAlMylImIh5RSlChLA4wB"
    "fJROTk5LAksBSwB0lGJLAoWUaBB0lFKUjANmcHOUXZQoSxmMFm51bXB5Ll9jb3JlLm11bHRpYXJyYXmUjAZzY2FsYXKUk5RoCYwCaTiUiYiHlFKU"
    "KEsDaA1OTk5K/////0r/////SwB0lGJDCBkAAAAAAAAAlIaUUpRldS4="
)
#   np.save(f, {"Apply Eye Makeup": np.ones(4, np.float32), "b": np.zeros(4, np.float32)})  (numpy 2.4)
NUMPY2_TEXT_NPY = base64.b64decode(
    "k05VTVBZAQB2AHsnZGVzY3InOiAnfE8nLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoKSwgfSAgICAgICAgICAgICAgICAgICAg"
    "ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqABJUhAQAAAAAAAIwWbnVtcHkuX2NvcmUubXVsdGlhcnJheZSMDF9y"
    "ZWNvbnN0cnVjdJSTlIwFbnVtcHmUjAduZGFycmF5lJOUSwCFlEMBYpSHlFKUKEsBKWgDjAVkdHlwZZSTlIwCTziUiYiHlFKUKEsDjAF8lE5OTkr/"
    "////Sv////9LP3SUYoldlH2UKIwQQXBwbHkgRXllIE1ha2V1cJRoAmgFSwCFlGgHh5RSlChLAUsEhZRoC4wCZjSUiYiHlFKUKEsDjAE8lE5OTkr/"
    "////Sv////9LAHSUYolDEAAAgD8AAIA/AACAPwAAgD+UdJRijAFilGgCaAVLAIWUaAeHlFKUKEsBSwSFlGgaiUMQAAAAAAAAAAAAAAAAAAAAAJR0"
    "lGJ1YXSUYi4="
)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_containers_and_numpy_round_trip(tmp_path, protocol):
    payload = {
        "features": [np.arange(4, dtype=np.float32), np.ones((1, 3), np.float16), np.zeros((3, 4))[:, ::2]],
        "video_names": np.array([b"v_a", b"v_b"]),
        "names": np.array(["x", "y"]),
        "scalars": (np.float32(1.5), np.int64(7), True, 2 + 1j, None, slice(1, 2)),
        "plain": [b"raw", bytearray(b"x"), {1, 2}, frozenset({3})],
        "ordered": collections.OrderedDict(a=1),
        "objects": np.array([{"k": np.float64(2.0)}], dtype=object),
    }
    path = tmp_path / "ok.pkl"
    path.write_bytes(pickle.dumps(payload, protocol=protocol))
    loaded = safe_load_pickle(path)
    assert loaded.keys() == payload.keys()
    for got, want in zip(loaded["features"], payload["features"]):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype
    assert loaded["video_names"].tolist() == [b"v_a", b"v_b"]
    assert loaded["scalars"] == payload["scalars"] and loaded["plain"] == payload["plain"]
    assert loaded["objects"][0] == {"k": 2.0} and loaded["ordered"] == payload["ordered"]


def test_numpy2_pickles_load_under_this_numpy(tmp_path):
    path = tmp_path / "numpy2.pkl"
    path.write_bytes(NUMPY2_FEATURE_PICKLE)
    loaded = safe_load_pickle(path)
    assert [vector.shape for vector in loaded["features"]] == [(4,), (1, 4)]
    assert loaded["video_names"].tolist() == [b"v1", b"v2"] and loaded["fps"] == [25, 25]


def test_numpy2_npy_dict_loads(tmp_path):
    path = tmp_path / "text.npy"
    path.write_bytes(NUMPY2_TEXT_NPY)
    loaded = safe_load_npy_object(path)
    assert list(loaded) == ["Apply Eye Makeup", "b"]
    np.testing.assert_array_equal(loaded["Apply Eye Makeup"], np.ones(4, np.float32))


def test_npy_dict_and_plain_arrays(tmp_path):
    np.save(tmp_path / "dict.npy", {"a": np.ones(3, np.float32)})
    assert safe_load_npy_object(tmp_path / "dict.npy")["a"].tolist() == [1, 1, 1]
    matrix = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    np.save(tmp_path / "plain.npy", matrix)
    np.testing.assert_array_equal(safe_load_npy_object(tmp_path / "plain.npy"), matrix)


def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "marker"
    data = pickle.dumps({"features": [MarkerPayload(marker)]}, protocol=4)
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(MarkerPayload(proof))).close()  # the payload is live with a plain unpickler
    assert proof.exists()
    path = tmp_path / "evil.pkl"
    path.write_bytes(data)
    with pytest.raises(UnsafePickleError, match=f"{esc(path)}: refused to load global 'io.open'"):
        safe_load_pickle(path)
    assert not marker.exists()


def test_malicious_npy_payload_is_refused(tmp_path):
    marker = tmp_path / "marker"
    buffer = io.BytesIO()
    npy_format.write_array_header_1_0(buffer, {"descr": "|O", "fortran_order": False, "shape": ()})
    buffer.write(pickle.dumps(MarkerPayload(marker), protocol=3))
    path = tmp_path / "word_embeddings_ucf_normed.npy"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(UnsafePickleError, match=f"{esc(path)}: refused to load global 'io.open'"):
        safe_load_npy_object(path)
    assert not marker.exists()


@pytest.mark.parametrize("payload", [collections.Counter(a=1), np.random.default_rng(0)])
def test_other_globals_are_refused(tmp_path, payload):
    path = tmp_path / "other.pkl"
    path.write_bytes(pickle.dumps(payload))
    with pytest.raises(UnsafePickleError, match=esc(path)):
        safe_load_pickle(path)


def test_persistent_ids_are_refused(tmp_path):
    class WithPersistentIds(pickle.Pickler):
        def persistent_id(self, obj):
            return "storage" if isinstance(obj, str) and obj == "external" else None

    buffer = io.BytesIO()
    WithPersistentIds(buffer).dump(["external"])
    path = tmp_path / "persistent.pkl"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(UnsafePickleError, match=f"{esc(path)}: .*persistent id"):
        safe_load_pickle(path)


def test_truncated_and_corrupt_files_name_the_file(tmp_path):
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(pickle.dumps({"features": [np.ones(64, np.float32)]}, protocol=4)[:-40])
    with pytest.raises(DataError, match=f"{esc(truncated)}: truncated or corrupt pickle"):
        safe_load_pickle(truncated)
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"not an npy file at all")
    with pytest.raises(DataError, match=f"{esc(garbage)}: not a valid .npy file"):
        safe_load_npy_object(garbage)
    np.save(tmp_path / "short.npy", np.ones(100, np.float32))
    (tmp_path / "short.npy").write_bytes((tmp_path / "short.npy").read_bytes()[:-8])
    with pytest.raises(DataError, match=r"truncated \.npy file"):
        safe_load_npy_object(tmp_path / "short.npy")
    with pytest.raises(DataError, match="pickle not found"):
        safe_load_pickle(tmp_path / "absent.pkl")
