"""The stand-in hub cache for random CLAP weights offline: laion_clap builds from it, and the spec applies it."""
import os

import pytest

from avgzsl.encoders import EncoderError, build_audio_encoder
from avgzsl.encoders.clap import AudioEncoderSpec


@pytest.mark.slow
def test_plain_laion_clap_module_builds_from_fake_cache(fake_hf_hub):
    from avgzsl.encoders.hf_offline import import_laion_clap

    laion_clap = import_laion_clap()
    module = laion_clap.CLAP_Module(enable_fusion=False, amodel="HTSAT-tiny", device="cpu")
    emb = module.get_text_embedding(["a dog", "a cat"])
    assert emb.shape == (2, 512)


def test_standin_tokenizer_is_applied_only_while_the_encoder_is_built(tmp_path):
    from huggingface_hub import constants

    before = (os.environ.get("HF_HUB_CACHE"), constants.HF_HUB_CACHE, os.environ.get("HF_HUB_OFFLINE"))
    encoder = build_audio_encoder(AudioEncoderSpec(weights="random", device="cpu", text_tokenizer="standin"),
                                  cache_dir=tmp_path)
    assert (tmp_path / "standin-hub" / ".complete").is_file()
    assert (os.environ.get("HF_HUB_CACHE"), constants.HF_HUB_CACHE, os.environ.get("HF_HUB_OFFLINE")) == before
    assert encoder.info.weights == "random" and "text tokenizer: offline stand-in" in encoder.info.weights_tag
    assert encoder.encode_text(["a dog can be heard."]).shape == (1, 512)


@pytest.mark.parametrize("spec, pattern", [
    (AudioEncoderSpec(text_tokenizer="standin"), "only goes with weights='random'"),
    (AudioEncoderSpec(weights="random", text_tokenizer="mine"), "text_tokenizer='mine': expected one of"),
])
def test_standin_tokenizer_spec_errors(spec, pattern, tmp_path):
    with pytest.raises(EncoderError, match=pattern):
        build_audio_encoder(spec, tmp_path)
