"""The ClipClap network, balanced sampling, the β sweep and the two-stage protocol."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from avgzsl.clipclap import metrics as ev
from avgzsl.clipclap.inputs import build_protocol_data, vectors
from avgzsl.clipclap.model import ClipClap, ClipClapConfig
from avgzsl.clipclap.protocol import run_protocol
from avgzsl.clipclap.train import BalancedSampler, TrainConfig
from tests.core.learning_fixtures import tiny_tables


def naive_scores(dist, true_cols, is_seen, beta):
    """Per-sample reference: the authors' formulation, one β at a time."""
    dist = dist.numpy().astype(np.float64)
    pred = np.argmin(dist + beta * is_seen.numpy(), axis=1)
    rec = {}
    for c in np.unique(true_cols.numpy()):
        rows = true_cols.numpy() == c
        rec[c] = float(np.mean(pred[rows] == c))
    s = np.mean([r for c, r in rec.items() if is_seen[c]])
    u = np.mean([r for c, r in rec.items() if not is_seen[c]])
    return s, u, 2 * s * u / (s + u + np.finfo(float).eps)


def test_vectorised_beta_sweep_matches_per_beta_reference():
    g = torch.Generator().manual_seed(0)
    dist = torch.rand(300, 10, generator=g) * 3
    cand = ev.Candidates.from_ids([0, 2, 4, 6, 8, 9], [1, 3, 5, 7])
    true_cols = torch.randint(10, (300,), generator=g)
    sweep = ev.sweep_betas(dist, true_cols, cand, chunk_elems=1000)  # forces several chunks
    for i in (0, 7, 40, 75):
        s, u, hm = naive_scores(dist, true_cols, cand.is_seen, float(ev.BETAS[i]))
        assert sweep["seen"][i].item() == pytest.approx(s)
        assert sweep["unseen"][i].item() == pytest.approx(u)
        assert sweep["hm"][i].item() == pytest.approx(hm)
    assert ev.best_beta(sweep) == int(np.argmax(sweep["hm"].numpy()))


def test_zsl_predicts_only_unseen_classes():
    dist = torch.rand(50, 6)
    cand = ev.Candidates.from_ids([0, 1, 2], [3, 4, 5])
    pred = ev.zsl_predictions(dist, cand)
    assert not cand.is_seen[pred].any()


def test_candidates_reject_overlap_and_foreign_labels():
    with pytest.raises(ValueError, match="overlap"):
        ev.Candidates.from_ids([0, 1], [1, 2])
    with pytest.raises(ValueError, match="not among the candidate"):
        ev.Candidates.from_ids([0, 1], [3]).columns(torch.tensor([2]))


def test_shared_class_linear_gives_the_same_losses_as_per_sample_embeddings():
    torch.manual_seed(0)
    model = ClipClap(ClipClapConfig(input_dim=20, text_dim=12, dropout=0.0)).train()
    x, class_w = torch.randn(16, 20), torch.randn(5, 12)
    target = torch.randint(5, (16,))
    got = model.losses(x, class_w, target)
    theta_o = model.o_proj(model.o_enc(x))
    w_enc = model.w_enc(class_w[target])
    theta_w = model.w_proj(w_enc)
    class_theta = model.w_proj(model.w_enc(class_w))
    assert got["loss_ce"].item() == pytest.approx(F.cross_entropy(theta_o @ class_theta.t(), target).item(), rel=1e-5)
    assert got["loss_reg"].item() == pytest.approx(F.mse_loss(theta_o, theta_w).item(), rel=1e-5)
    want_rec = F.mse_loss(model.d_o(theta_o), w_enc) + F.mse_loss(model.d_w(theta_w), w_enc)
    assert got["loss_rec"].item() == pytest.approx(want_rec.item(), rel=1e-5)


def test_balanced_sampler_draws_classes_uniformly_and_rows_of_that_class():
    labels = torch.tensor([0] * 500 + [3] * 20 + [7] * 5)
    sampler = BalancedSampler(labels, torch.Generator().manual_seed(1))
    rows, cls = sampler.draw(300, 64)
    assert torch.equal(labels[rows], sampler.class_ids[cls])
    freq = torch.bincount(cls.flatten(), minlength=3).float() / cls.numel()
    assert torch.allclose(freq, torch.full((3,), 1 / 3), atol=0.01)
    assert set(rows[cls == 2].tolist()) == set(range(520, 525))  # all five rows of the rare class drawn


def test_positional_lookup_reproduces_the_authors_defect():
    features, classes = tiny_tables()
    by_name = build_protocol_data(features, classes, text_lookup="name")
    positional = build_protocol_data(features, classes, text_lookup="positional")
    clip = vectors(classes, "clip_text")
    readable = classes.column("readable_name").to_pylist()
    assert np.allclose(by_name.text[3, :24].numpy(), clip[3])
    assert np.allclose(positional.text[3, :24].numpy(), clip[sorted(range(16), key=readable.__getitem__)[3]])
    assert not np.allclose(positional.text.numpy(), by_name.text.numpy())


@pytest.mark.parametrize("modality,text,dims", [("both", "both", (80, 64)), ("audio", "clap", (48, 40)),
                                                ("video", "clip", (32, 24))])
def test_ablations_select_inputs_and_text(modality, text, dims):
    features, classes = tiny_tables()
    data = build_protocol_data(features, classes, modality=modality, text_source=text)
    assert (data.inputs.shape[1], data.text.shape[1]) == dims


def test_protocol_is_deterministic_and_metrics_come_from_predictions():
    features, classes = tiny_tables()
    cfg = TrainConfig(epochs=3, lr=1e-3, batches_per_epoch=15, batch_size=32)
    runs = [run_protocol(build_protocol_data(features, classes), cfg) for _ in range(2)]
    assert runs[0].metrics() == runs[1].metrics()
    first = runs[0]
    assert first.metrics()["stage2_epochs"] == first.stage1.best_epoch + 1
    assert first.test.hm > 0.2  # the tiny problem is learnable
    pred = first.predictions.to_pylist()
    assert len(pred) == features.filter(
        np.isin(features.column("split").to_numpy(zero_copy_only=False),
                ["stage_2_test_seen", "stage_2_test_unseen"])).num_rows
    recall = {}
    for group in ("seen", "unseen"):
        classes_ = {r["true_class"] for r in pred if r["split"] == group}
        recall[group] = np.mean([np.mean([r["predicted_class"] == c for r in pred if r["true_class"] == c])
                                 for c in classes_])
    unseen = {r["true_class"] for r in pred if r["split"] == "unseen"}
    zsl = np.mean([np.mean([r["predicted_class_zsl"] == c for r in pred if r["true_class"] == c]) for c in unseen])
    assert first.test.seen == pytest.approx(recall["seen"], abs=1e-12)
    assert first.test.unseen == pytest.approx(recall["unseen"], abs=1e-12)
    assert first.test.zsl == pytest.approx(zsl, abs=1e-12)
    assert all(r["predicted_class_zsl"] in unseen for r in pred)
