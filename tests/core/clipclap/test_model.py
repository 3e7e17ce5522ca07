"""The ClipClap network: its losses computed with a shared class linear equal the per-sample formulation."""
from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from avgzsl.clipclap.model import ClipClap, ClipClapConfig


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
