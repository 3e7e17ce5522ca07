"""Every built-in method: its loss parts, that training lowers them, and how it ranks classes."""
from __future__ import annotations

import pytest
import torch

from avgzsl.methods import Batch, get_method, known
from avgzsl.methods.base import rank_distances, total

METHODS = ("clipclap", "cjme", "avgzslnet", "avca", "hyper-multiple")
VISUAL, AUDIO, TEXT, CLASSES, B = 12, 8, 10, 4, 32


def batch(seed: int = 0) -> Batch:
    """Rows of four well-separated classes (inputs visual first), a negative of another class for each row."""
    g = torch.Generator().manual_seed(seed)
    centres, class_text = torch.randn(CLASSES, VISUAL + AUDIO, generator=g) * 3, torch.randn(CLASSES, TEXT, generator=g)
    target = torch.arange(B) % CLASSES
    target_neg = (target + 1) % CLASSES
    noise = lambda: 0.1 * torch.randn(B, VISUAL + AUDIO, generator=g)  # noqa: E731
    return Batch(x=centres[target] + noise(), target=target, class_text=class_text,
                 x_neg=centres[target_neg] + noise(), target_neg=target_neg)


def network(name: str):
    method = get_method(name)
    torch.manual_seed(0)
    model = method.build(method.make_config(VISUAL + AUDIO, TEXT, VISUAL, "ucf"))
    return method, model


def test_the_built_in_methods_are_the_papers_table_1():
    assert tuple(known()[:5]) == METHODS


@pytest.mark.parametrize("name", METHODS)
def test_a_methods_losses_are_named_scalars_and_a_few_steps_lower_their_sum(name):
    method, model = network(name)
    data = batch()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sums = []
    for _ in range(20):
        parts = method.losses(model.train(), data)
        assert parts and all(k.startswith("loss_") and v.dim() == 0 and torch.isfinite(v) for k, v in parts.items())
        loss = total(parts)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sums.append(loss.item())
    assert sum(sums[-3:]) < sum(sums[:3])


@pytest.mark.parametrize("name", METHODS)
def test_a_method_ranks_every_video_against_every_class_in_eval_mode(name):
    method, model = network(name)
    data = batch()
    model.train()
    dist = rank_distances(method, model, data.x, data.class_text)
    assert dist.shape == (B, CLASSES) and torch.isfinite(dist).all() and (dist >= 0).all()
    assert model.training  # the caller's mode is restored
    again = rank_distances(method, model, data.x, data.class_text)
    assert torch.equal(dist, again)  # eval mode: no dropout, BatchNorm's running statistics


def test_cjme_picks_the_audio_or_the_visual_distance_by_its_thresholded_attention():
    method = get_method("cjme")
    classes = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    videos = torch.tensor([[0.0, 0.0, 3.0, 4.0, 0.0],  # audio at class 0, visual at class 1; attention → audio
                           [0.0, 0.0, 3.0, 4.0, 1.0]])  # attention → visual
    dist = method.distances(videos, classes)
    assert dist.tolist() == [[0.0, 5.0], [5.0, 0.0]]


def test_avgzslnet_adds_the_audio_and_the_visual_distance():
    classes = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    dist = get_method("avgzslnet").distances(torch.tensor([[0.0, 0.0, 3.0, 4.0]]), classes)
    assert dist.tolist() == [[5.0, 5.0]]


def test_hyper_multiple_adds_a_hyperbolic_alignment_that_vanishes_for_identical_streams():
    from avgzsl.methods.hyper_multiple import expmap0, poincare_distance

    method, model = network("hyper-multiple")
    phi = torch.randn(6, 300)
    assert model.alignment(phi, phi).item() == pytest.approx(0.0, abs=1e-3)
    assert model.alignment(phi, -phi).item() > 1.0
    c = torch.tensor(1.0)
    assert (expmap0(torch.randn(5, 3) * 10, c).norm(dim=1) < 1).all()  # on the ball
    x, y = expmap0(torch.randn(5, 3) * 0.5, c), expmap0(torch.randn(5, 3) * 0.5, c)
    assert torch.allclose(poincare_distance(x, y, c), poincare_distance(y, x, c), atol=1e-3)
    assert len(model.curvatures()) == 3 and (model.curvatures() > 0).all()
    assert "loss_hyperbolic" in method.losses(model.train(), batch())


def test_baselines_need_both_streams():
    from avgzsl.methods import MethodError

    method = get_method("avca")
    model = method.build(method.make_config(VISUAL + AUDIO, TEXT, 0, "ucf"))
    with pytest.raises(MethodError, match="modality both"):
        method.embed_videos(model.eval(), torch.randn(3, VISUAL + AUDIO))


def test_presets_are_the_original_codes_per_dataset():
    avca, cjme = get_method("avca"), get_method("cjme")
    assert (avca.preset("ucf").batch_size, avca.preset("vggsound").batch_size) == (256, 64)
    assert (cjme.preset("ucf").lr, cjme.preset("ucf").epochs, cjme.preset("ucf").batches_per_epoch) == (1e-3, 50, 500)
    assert avca.make_config(20, 10, 12, "activitynet").momentum == 0.99
    assert cjme.make_config(20, 10, 12, "vggsound").dropout == 0.0
    assert get_method("clipclap").preset("my-birds") == get_method("clipclap").preset("ucf")


def test_a_benchmark_can_time_one_training_step_of_any_method():
    from avgzsl.methods.bench import training_step

    step, data = training_step("cjme", input_dim=VISUAL + AUDIO, text_dim=TEXT, visual_dim=VISUAL)
    assert data.x.shape == (256, VISUAL + AUDIO) and data.x_neg is not None
    assert step(data) > 0
