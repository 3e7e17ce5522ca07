"""The open_clip visual/text encoder with a tiny random architecture from a config file (offline, ~1 s a build)."""
import json
import time

import numpy as np
import pytest
import torch
from PIL import Image

from avgzsl.encoders import EncoderError, build_visual_encoder, encode_image_files
from avgzsl.encoders.clip import VisualEncoderSpec, quick_gelu_for
from tests.helpers.encoders import TINY_OPEN_CLIP_CONFIG, TINY_OPEN_CLIP_MODEL, assert_unit_rows


@pytest.fixture(scope="module")
def jpegs(tmp_path_factory):
    d = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(7):
        arr = rng.integers(0, 255, size=(40 + 3 * i, 56, 3), dtype=np.uint8)
        p = d / f"frame_{i}.jpg"
        Image.fromarray(arr).save(p, quality=90)
        paths.append(str(p))
    Image.fromarray(rng.integers(0, 255, (30, 30), dtype=np.uint8), mode="L").save(d / "gray.png")
    (d / "corrupt.jpg").write_bytes(open(paths[0], "rb").read()[:200])  # truncated JPEG
    return paths, str(d / "gray.png"), str(d / "corrupt.jpg")


def test_shapes_norms_dtype_and_info(visual_encoder):
    x = torch.randn(3, 3, 32, 32)
    e = visual_encoder.encode_images(x)
    assert_unit_rows(e, (3, 32))
    t = visual_encoder.encode_text(["a photo of a dog.", "a video of the person doing archery."])
    assert_unit_rows(t, (2, 32))
    meta = visual_encoder.info.as_metadata()
    assert meta["weights"] == "random" and meta["weights_tag"] == "seed=0" and meta["family"] == "open_clip"
    assert meta["embed_dim"] == "32" and meta["dtype"] == "float32" and meta["device"] == "cpu"


def test_deterministic_and_seeded(visual_encoder, tiny_visual_spec):
    x = torch.randn(4, 3, 32, 32)
    np.testing.assert_array_equal(visual_encoder.encode_images(x), visual_encoder.encode_images(x))
    again = build_visual_encoder(tiny_visual_spec())
    np.testing.assert_array_equal(visual_encoder.encode_images(x), again.encode_images(x))
    other = build_visual_encoder(tiny_visual_spec(seed=1))
    assert not np.allclose(visual_encoder.encode_images(x), other.encode_images(x))


def test_batching_invariance(visual_encoder):
    x = torch.randn(5, 3, 32, 32)
    batch = visual_encoder.encode_images(x)
    singles = np.concatenate([visual_encoder.encode_images(x[i:i + 1]) for i in range(5)])
    np.testing.assert_allclose(batch, singles, atol=1e-5)


@pytest.mark.parametrize("workers", [0, 2])
def test_files_match_preprocess_path(visual_encoder, jpegs, workers):
    paths, gray, _ = jpegs
    preprocessed = [visual_encoder.preprocess(Image.open(p).convert("RGB")) for p in paths + [gray]]
    ref = visual_encoder.encode_images(torch.stack(preprocessed))
    got = visual_encoder.encode_files(paths + [gray], batch_size=3, prefetch_workers=workers)
    np.testing.assert_allclose(got, ref, atol=1e-6)


def test_corrupt_file_is_a_per_file_error(visual_encoder, jpegs):
    paths, _, corrupt = jpegs
    files = [paths[0], corrupt, paths[1], "/nonexistent/x.jpg"]
    out = list(encode_image_files(visual_encoder, files, batch_size=4, prefetch_workers=1))
    (idx, emb, errors), = out
    assert idx.tolist() == [0, 2] and emb.shape == (2, 32)
    assert [e.index for e in errors] == [1, 3]
    assert errors[0].error.startswith(("OSError", "UnidentifiedImageError"))
    assert errors[1].error.startswith("FileNotFoundError")
    with pytest.raises(EncoderError, match="2 of 4 file"):
        visual_encoder.encode_files(files)


def test_unknown_model_name():
    with pytest.raises(EncoderError, match="Unknown open_clip model 'ViT-B-33'.*ViT-B-32"):
        build_visual_encoder(VisualEncoderSpec(model_name="ViT-B-33", weights="random", device="cpu"))


def test_unknown_tag_names_the_known_ones(tmp_path):
    with pytest.raises(EncoderError, match="known tags: .*laion2b_s34b_b79k.*checkpoint_path"):
        build_visual_encoder(VisualEncoderSpec(pretrained_tag="nope", device="cpu"), tmp_path)


def test_pretrained_offline_fails_fast_with_fix(fake_hf_hub, tmp_path):
    __import__("open_clip")  # its import time is not what is measured

    t0 = time.monotonic()
    with pytest.raises(EncoderError) as err:
        build_visual_encoder(VisualEncoderSpec(device="cpu"), cache_dir=tmp_path / "weights")
    assert time.monotonic() - t0 < 10
    msg = str(err.value)
    assert "timm/vit_base_patch32_clip_224.openai" in msg and "HF_HUB_OFFLINE=1" in msg
    assert "snapshot_download(" in msg and "open_clip_model.safetensors" in msg and "checkpoint_path" in msg


def test_quick_gelu_for_openai_weights():
    assert quick_gelu_for("ViT-B-32", "openai") is True
    assert quick_gelu_for("ViT-B-32", "laion2b_s34b_b79k") is False


def test_checkpoint_path_roundtrip_and_mismatch(visual_encoder, tiny_visual_spec, tmp_path):
    seed1 = build_visual_encoder(tiny_visual_spec(seed=1))
    ckpt = tmp_path / "tiny.pt"
    torch.save({"epoch": 3, "state_dict": {"module." + k: v for k, v in seed1.model.state_dict().items()}}, ckpt)
    loaded = build_visual_encoder(tiny_visual_spec(weights="pretrained", checkpoint_path=str(ckpt)))
    x = torch.randn(2, 3, 32, 32)
    np.testing.assert_array_equal(loaded.encode_images(x), seed1.encode_images(x))
    assert loaded.info.weights == "pretrained" and loaded.info.weights_tag == str(ckpt)

    bad = dict(seed1.model.state_dict())
    bad["visual.proj"] = torch.zeros(32, 16)
    torch.save(bad, tmp_path / "bad.pt")
    with pytest.raises(EncoderError, match=r"visual\.proj: checkpoint \(32, 16\) vs model \(32, 32\)"):
        build_visual_encoder(tiny_visual_spec(weights="pretrained", checkpoint_path=str(tmp_path / "bad.pt")))


def test_model_config_must_be_a_json_file_named_after_the_model(tmp_path):
    wrong_name = tmp_path / "other-name.json"
    wrong_name.write_text(json.dumps(TINY_OPEN_CLIP_CONFIG))
    with pytest.raises(EncoderError, match=r"model_name must be 'other-name' \(got 'avgzsl-tiny-ViT'\)"):
        build_visual_encoder(VisualEncoderSpec(model_name=TINY_OPEN_CLIP_MODEL, model_config=str(wrong_name),
                                               weights="random", device="cpu"))
    with pytest.raises(EncoderError, match="expected an open_clip architecture JSON file"):
        build_visual_encoder(VisualEncoderSpec(model_name=TINY_OPEN_CLIP_MODEL, weights="random", device="cpu",
                                               model_config=str(tmp_path / "nope.json")))
