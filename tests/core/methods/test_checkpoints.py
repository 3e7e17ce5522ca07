"""A checkpoint records its method: every method round-trips, and one method's file is refused as another's."""
from __future__ import annotations

import pytest
import torch

from avgzsl.clipclap.checkpoints import checkpoint_method, load_model, read_metadata, save_model
from avgzsl.methods import MethodError, get_method

METHODS = ("clipclap", "cjme", "avgzslnet", "avca", "hyper-multiple")


@pytest.mark.parametrize("name", METHODS)
def test_every_method_round_trips_through_safetensors(tmp_path, name):
    method = get_method(name)
    config = method.make_config(20, 10, 12, "activitynet")
    torch.manual_seed(1)
    model = method.build(config)
    model.config = config
    path = save_model(model.eval(), tmp_path / "m.safetensors", method=method)
    assert checkpoint_method(path) == name and read_metadata(path)["method"] == name
    back = load_model(path, method=name)
    assert back.config == config and back.method_name == name
    x, w = torch.randn(5, 20), torch.randn(3, 10)
    assert torch.equal(method.embed_videos(model, x), method.embed_videos(back, x))
    assert torch.equal(method.embed_classes(model, w), method.embed_classes(back, w))


def test_a_checkpoint_of_one_method_loaded_as_another_names_both(tmp_path):
    method = get_method("avca")
    model = method.build(method.make_config(20, 10, 12))
    model.config = method.make_config(20, 10, 12)
    path = save_model(model, tmp_path / "avca.safetensors", method=method)
    with pytest.raises(MethodError, match="a checkpoint of method 'avca', loaded as method 'clipclap'"):
        load_model(path, method="clipclap")


def test_a_checkpoint_from_before_methods_is_clipclap(tmp_path):
    import json

    from safetensors.torch import save_file

    method = get_method("clipclap")
    config = method.make_config(20, 10)
    model = method.build(config)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp_path / "old.safetensors"), metadata={"clipclap_config": json.dumps(config.as_dict())})
    assert load_model(tmp_path / "old.safetensors", method="clipclap").config == config
