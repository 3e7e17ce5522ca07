"""Trained networks as safetensors files with their config inside (never pickled models)."""
import pytest
import torch

from avgzsl.clipclap.checkpoints import load_model, read_metadata, save_model
from avgzsl.clipclap.model import ClipClap, ClipClapConfig, build_model


def test_a_saved_model_loads_back_as_the_same_network(tmp_path):
    torch.manual_seed(0)
    model = build_model(ClipClapConfig(input_dim=20, text_dim=12)).eval()
    path = save_model(model, tmp_path / "runs" / "stage1_model.safetensors", extra={"stage": "1"})
    assert [p.name for p in path.parent.iterdir()] == ["stage1_model.safetensors"]  # no temporary file left
    assert read_metadata(path)["stage"] == "1"
    loaded = load_model(path)
    assert isinstance(loaded, ClipClap) and not loaded.training and loaded.config == model.config
    x = torch.randn(5, 20)
    with torch.no_grad():
        torch.testing.assert_close(loaded.embed_inputs(x), model.embed_inputs(x))


def test_a_file_without_the_config_is_refused(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.ones(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="not a model checkpoint"):
        load_model(tmp_path / "other.safetensors")
