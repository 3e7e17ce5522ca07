"""EncoderInfo: what produced a set of embeddings, as flat metadata."""
import pytest

from avgzsl.encoders.base import EncoderError, EncoderInfo, check_weights_choice


def test_info_metadata_is_flat_strings():
    info = EncoderInfo("laion_clap", "HTSAT-tiny", "random", "seed=0", 512, 48000, "cpu", "float32")
    meta = info.as_metadata()
    assert meta["embed_dim"] == "512" and meta["sample_rate"] == "48000" and meta["family"] == "laion_clap"
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
    meta = EncoderInfo("open_clip", "ViT-B-32", "pretrained", "openai", 512, None, "cpu", "float32").as_metadata()
    assert meta["sample_rate"] == ""


def test_weights_must_be_pretrained_or_random():
    check_weights_choice("random")
    with pytest.raises(EncoderError, match="weights='imagenet'"):
        check_weights_choice("imagenet")
