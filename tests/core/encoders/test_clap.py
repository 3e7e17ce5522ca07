"""The laion_clap audio/text encoder: random HTSAT-tiny + tiny text branch from a fake hub cache."""
import time

import numpy as np
import pytest
import soundfile as sf
import torch

from avgzsl.encoders import EncoderError, build_audio_encoder, encode_audio_files
from avgzsl.encoders.audio_io import quantize_int16
from avgzsl.encoders.clap import AudioEncoderSpec
from avgzsl.encoders.hf_offline import apply_hub_env, check_text_tokenizer
from tests.helpers.encoders import assert_unit_rows, tiny_audio_spec

SR = 48000


def _clip(seconds, seed):
    return (np.random.default_rng(seed).normal(size=int(seconds * SR)) * 0.1).astype(np.float32)


def test_shapes_norms_info_and_text(audio_encoder):
    assert audio_encoder.sample_rate == 48000 and audio_encoder.clip_samples == 480000
    e = audio_encoder.encode_audio([_clip(10, 0), _clip(2.5, 1)])
    assert_unit_rows(e, (2, 512))
    t = audio_encoder.encode_text(["a dog can be heard.", "the person playing guitar can be heard."])
    assert_unit_rows(t, (2, 512))
    meta = audio_encoder.info.as_metadata()
    assert meta["family"] == "laion_clap" and meta["sample_rate"] == "48000" and meta["embed_dim"] == "512"
    assert meta["weights"] == "random" and meta["model_name"] == "HTSAT-tiny"


def test_batch_equals_singles_and_is_deterministic(audio_encoder):
    clips = [_clip(10, s) for s in range(3)]
    batch = audio_encoder.encode_audio(np.stack(clips))
    singles = np.concatenate([audio_encoder.encode_audio(c) for c in clips])
    np.testing.assert_allclose(batch, singles, atol=1e-5)
    np.testing.assert_array_equal(audio_encoder.encode_audio(clips[:1]), singles[:1])


def test_short_padded_long_cropped_like_manual(audio_encoder):
    short, long_ = _clip(3.3, 5), _clip(13.7, 6)
    manual = np.zeros((2, 480000), dtype=np.float32)
    manual[0, :short.size] = short
    start = long_.size // 2 - 240000
    manual[1] = long_[start:start + 480000]
    np.testing.assert_allclose(audio_encoder.encode_audio([short, long_]),
                               audio_encoder.encode_prepared(quantize_int16(manual)),
                               atol=1e-6)


def test_matches_laion_get_audio_features_for_10s_input(audio_encoder):
    """For exactly 10 s, laion_clap's own input path (no crop, no repeat-pad) gives the same embedding."""
    from laion_clap.training.data import get_audio_features

    x = quantize_int16(_clip(10, 9))
    sample = get_audio_features({}, torch.from_numpy(x), 480000, data_truncating="rand_trunc",
                                data_filling="repeatpad", audio_cfg=audio_encoder.model_cfg["audio_cfg"])
    with torch.inference_mode():
        ref = audio_encoder.model.get_audio_embedding([sample]).numpy()
    np.testing.assert_allclose(audio_encoder.encode_prepared(x[None]), ref, atol=1e-6)
    # ...whereas laion_clap would REPEAT a short clip, not zero-pad it:
    short = get_audio_features({}, torch.ones(200000), 480000, data_truncating="rand_trunc",
                               data_filling="repeatpad", audio_cfg=audio_encoder.model_cfg["audio_cfg"])
    assert float(short["waveform"][300000]) == 1.0


def test_wav_files_wrong_rate_stereo_and_corrupt(audio_encoder, tmp_path):
    good = tmp_path / "good.wav"
    sf.write(good, _clip(4, 2), SR, subtype="PCM_16")
    sf.write(tmp_path / "sr16k.wav", _clip(1, 3)[:16000], 16000)
    sf.write(tmp_path / "stereo.wav", np.stack([_clip(1, 4)] * 2, axis=1), SR)
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00garbage")
    with pytest.raises(EncoderError, match=r"sample rate 16000 Hz but the CLAP encoder needs 48000 Hz.*ffmpeg"):
        audio_encoder.read_audio(tmp_path / "sr16k.wav")
    with pytest.raises(EncoderError, match="2 channels but mono is required"):
        audio_encoder.read_audio(tmp_path / "stereo.wav")
    files = [good, tmp_path / "sr16k.wav", tmp_path / "corrupt.wav", tmp_path / "stereo.wav"]
    (idx, emb, errors), = list(encode_audio_files(audio_encoder, files, batch_size=4, prefetch_workers=1))
    assert idx.tolist() == [0] and [e.index for e in errors] == [1, 2, 3]
    assert "48000" in errors[0].error
    data, _ = sf.read(good, dtype="float32")
    np.testing.assert_allclose(emb, audio_encoder.encode_audio(data), atol=1e-6)
    with pytest.raises(EncoderError, match="3 of 4 file"):
        audio_encoder.encode_files(files)


def test_checkpoint_with_position_ids_loads(audio_encoder, tmp_path):
    state = {"module." + k: v for k, v in audio_encoder.model.state_dict().items()}
    state["module.text_branch.embeddings.position_ids"] = torch.arange(96)[None]
    ckpt = tmp_path / "clap.pt"
    torch.save({"epoch": 45, "state_dict": state}, ckpt)
    loaded = build_audio_encoder(tiny_audio_spec(weights="pretrained", checkpoint=str(ckpt), seed=1))
    x = _clip(10, 11)
    np.testing.assert_allclose(loaded.encode_audio(x), audio_encoder.encode_audio(x), atol=1e-6)
    np.testing.assert_allclose(loaded.encode_text(["a dog"]), audio_encoder.encode_text(["a dog"]), atol=1e-6)
    assert loaded.info.weights_tag == str(ckpt)


def test_pretrained_offline_fails_fast_with_fix(fake_hf_hub, tmp_path):
    t0 = time.monotonic()
    with pytest.raises(EncoderError) as err:
        build_audio_encoder(AudioEncoderSpec(device="cpu"), cache_dir=tmp_path / "weights")
    assert time.monotonic() - t0 < 10
    msg = str(err.value)
    assert "lukewys/laion_clap/630k-audioset-best.pt" in msg and "HF_HUB_OFFLINE=1" in msg
    assert "hf_hub_download('lukewys/laion_clap', '630k-audioset-best.pt'" in msg and "checkpoint=" in msg


@pytest.mark.parametrize("spec, pattern", [
    (AudioEncoderSpec(amodel="HTSAT-tinyy"), "Unknown CLAP audio model 'HTSAT-tinyy'.*HTSAT-tiny"),
    (AudioEncoderSpec(enable_fusion=True), "enable_fusion=True is not supported"),
    (AudioEncoderSpec(checkpoint="630k-audioset-fusion-best.pt"), "fusion model"),
    (AudioEncoderSpec(checkpoint="nope.pt"), "neither an existing file nor a known id"),
    (AudioEncoderSpec(checkpoint="music_audioset_epoch_15_esc_90.14.pt"), "Set amodel='HTSAT-base'"),
])
def test_spec_errors(spec, pattern, tmp_path):
    with pytest.raises(EncoderError, match=pattern):
        build_audio_encoder(spec, tmp_path)


def test_empty_tokenizer_guard(tmp_path, fake_hf_hub):
    from transformers import RobertaTokenizer

    empty = RobertaTokenizer(vocab={"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}, merges=[])
    with pytest.raises(EncoderError, match="(?s)'roberta-base' tokenizer .* is EMPTY.*snapshot_download"):
        check_text_tokenizer(empty, "roberta-base")
    restore = apply_hub_env(offline=True, hub_cache=tmp_path / "no-cache-here")
    try:
        with pytest.raises(EncoderError, match="EMPTY"):
            build_audio_encoder(tiny_audio_spec())
    finally:
        restore()


