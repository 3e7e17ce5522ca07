"""Checkpoint loading without running code, and mismatch errors that name the tensors."""
import pytest
import torch

from avgzsl.encoders import EncoderError
from avgzsl.encoders.clap_build import clap_mismatch_hint
from avgzsl.encoders.weights import drop_stale_buffers, load_into_model, load_state_dict


def test_wrong_dimension_checkpoint_names_the_mismatch(audio_encoder, tmp_path):
    state = dict(audio_encoder.model.state_dict())
    state["audio_projection.0.weight"] = torch.zeros(512, 1024)
    torch.save({"state_dict": state}, tmp_path / "bad.pt")
    loaded, dropped = drop_stale_buffers(audio_encoder.model, load_state_dict(tmp_path / "bad.pt", what="t"))
    with pytest.raises(EncoderError, match=r"(?s)audio_projection\.0\.weight: checkpoint \(512, 1024\) vs "
                                           r"model \(512, 768\).*another audio model"):
        load_into_model(audio_encoder.model, loaded, what="t", hint=clap_mismatch_hint)


class _Opaque:
    pass


def test_pickled_objects_need_explicit_trust(tmp_path):
    torch.save({"state_dict": {"w": torch.ones(2)}, "args": _Opaque()}, tmp_path / "p.pt")
    with pytest.raises(EncoderError, match=r"(?s)weights_only=True\) refused.*_Opaque.*trust_checkpoint=True"):
        load_state_dict(tmp_path / "p.pt", what="t")
    assert load_state_dict(tmp_path / "p.pt", what="t", trust_pickle=True)["w"].tolist() == [1.0, 1.0]
