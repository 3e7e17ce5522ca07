"""CLAP's input policy: centre crop / zero pad, and int16 quantisation exactly as laion_clap's."""
import numpy as np

from avgzsl.encoders.audio_io import centre_crop_or_pad, quantize_int16


def test_prepare_pads_and_crops_centrally():
    short, long_ = np.arange(1, 6, dtype=np.float32), np.arange(11, dtype=np.float32)
    assert centre_crop_or_pad(short, 8).tolist() == [1, 2, 3, 4, 5, 0, 0, 0]
    assert centre_crop_or_pad(long_, 4).tolist() == [3, 4, 5, 6]  # start = 11 // 2 - 4 // 2
    assert centre_crop_or_pad(long_, 11) is not None


def test_quantisation_matches_laion_clap(fake_hf_hub):  # laion_clap loads tokenizers at import
    from laion_clap.training.data import float32_to_int16, int16_to_float32

    x = np.random.default_rng(0).uniform(-1.3, 1.3, size=1000).astype(np.float32)
    np.testing.assert_array_equal(quantize_int16(x), int16_to_float32(float32_to_int16(x)))
