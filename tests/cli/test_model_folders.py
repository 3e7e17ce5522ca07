"""Model folders are data: nothing in one can run code or grant trust, and damaged weights name themselves."""
from __future__ import annotations

import json

import pytest
import torch

from pipelines.cli import main
from tests.helpers.encoders import TINY_OPEN_CLIP_MODEL
from tests.helpers.predict import published_predictor


class Payload:
    """Unpickling this creates ``marker`` (what a hostile checkpoint would do instead is worse)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


def _tampered(folder, checkpoint, model_config) -> None:
    """The attack of issue 21: an encoder record whose spec points at a pickle and says to trust it."""
    path = folder / "predictor.json"
    raw = json.loads(path.read_text())
    spec = {"model_name": TINY_OPEN_CLIP_MODEL, "model_config": str(model_config), "weights": "pretrained",
            "pretrained_tag": "", "checkpoint_path": str(checkpoint), "seed": 0, "trust_checkpoint": True}
    raw["encoders"] = {"visual": {"spec": json.dumps(spec), "model_name": TINY_OPEN_CLIP_MODEL},
                       "audio": {"spec": json.dumps({"amodel": "HTSAT-tiny", "weights": "pretrained"})}}
    path.write_text(json.dumps(raw))


def test_a_model_folder_that_asks_for_trust_runs_no_code(state_home, tmp_path, tiny_open_clip_config, capsys):
    marker, checkpoint = tmp_path / "payload-ran", tmp_path / "evil.pt"
    torch.save({"state_dict": Payload(str(marker))}, checkpoint)
    folder = published_predictor(tmp_path / "model")
    _tampered(folder, checkpoint, tiny_open_clip_config)
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not read")
    code = main(["predict", str(video), "--classes", "archery", "--model", str(folder), "--device", "cpu",
                 "--out", str(tmp_path / "p.parquet")])
    err = capsys.readouterr().err
    assert code == 1 and not marker.exists()
    assert "sets trust_checkpoint" in err and "--trust-checkpoint" in err and len(err.strip().splitlines()) == 1


def test_a_pickled_checkpoint_is_unpickled_only_when_the_user_says_so(tmp_path, tiny_open_clip_config):
    from avgzsl.clipclap.predictor import Predictor
    from avgzsl.encoders.base import EncoderError
    from avgzsl.predict import build_encoders, encoder_specs

    marker, checkpoint = tmp_path / "payload-ran", tmp_path / "evil.pt"
    torch.save({"state_dict": Payload(str(marker))}, checkpoint)
    folder = published_predictor(tmp_path / "model")
    _tampered(folder, checkpoint, tiny_open_clip_config)
    raw = json.loads((folder / "predictor.json").read_text())
    spec = json.loads(raw["encoders"]["visual"]["spec"])
    del spec["trust_checkpoint"]  # a plain record pointing at a pickle: weights_only=True refuses it
    raw["encoders"]["visual"]["spec"] = json.dumps(spec)
    (folder / "predictor.json").write_text(json.dumps(raw))
    predictor = Predictor.load(folder)
    specs = encoder_specs(predictor, None, device="cpu")
    assert not specs["visual"].trust_checkpoint
    with pytest.raises(EncoderError, match="--trust-checkpoint"):
        build_encoders(predictor, {"visual": specs["visual"]}, tmp_path / "cache")
    assert not marker.exists()
    assert encoder_specs(predictor, None, device="cpu", trust_checkpoint=True)["visual"].trust_checkpoint


@pytest.mark.parametrize("damage", ["truncated", "garbage in the middle", "missing"])
def test_damaged_weights_are_refused_with_the_file_named(state_home, tmp_path, capsys, damage):
    folder = published_predictor(tmp_path / "model")
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    if damage == "truncated":
        weights.write_bytes(data[: len(data) // 2])
    elif damage == "garbage in the middle":
        middle = len(data) // 2
        weights.write_bytes(data[:middle] + b"\xff" * 4096 + data[middle + 4096:])
    else:
        weights.unlink()
    code = main(["predict", str(tmp_path), "--classes", "archery", "--model", str(folder), "--weights", "random",
                 "--out", str(tmp_path / "p.parquet")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert str(weights) in err and ("damaged" in err or "missing" in err) and "internal error" not in err
    assert not (tmp_path / "p.parquet").exists()


def test_a_damaged_stage_model_names_itself(tmp_path):
    from avgzsl.clipclap.checkpoints import load_model, save_model
    from avgzsl.clipclap.model import ClipClapConfig, build_model
    from avgzsl.data.validate import DataError

    path = save_model(build_model(ClipClapConfig(input_dim=8, text_dim=8)), tmp_path / "stage2_model.safetensors")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataError, match=rf"{path}: damaged safetensors file .*rerun the stage"):
        load_model(path)
