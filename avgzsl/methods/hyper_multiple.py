"""Hyper-multiple (Hong et al., ICCV 2023, "Hyperbolic Audio-visual Zero-shot Learning"), implemented from the paper.

The paper's code has no licence, so nothing is taken from it; what is implemented here
follows the paper's description (docs/method.md, "Hyper-multiple", says which facts are
the paper's and which are our choices):

* the network and losses are AVCA's (the paper builds on AVCA);
* a hyperbolic alignment module before the cross-attention: the audio and visual
  encoder outputs φ_a, φ_v are mapped onto Poincaré balls by the exponential map at the
  origin, and their geodesic distance is a further loss (cross-modal alignment in
  hyperbolic space);
* multiple adaptive curvatures: one learnable curvature per ball (``curvatures`` of
  them), the alignment loss averaged over the balls.

At test time the network is AVCA's (the alignment module only adds a training loss).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from avgzsl.methods.avca import AVCA, AVCA_NET_PRESETS, AVCA_PRESETS, AVCAConfig, AVCAMethod, avca_losses
from avgzsl.methods.base import Batch

BALL_EPS = 1e-5


def expmap0(v: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The exponential map at the origin of the Poincaré ball of curvature −c."""
    sqrt_c = c.sqrt()
    norm = v.norm(dim=-1, keepdim=True).clamp_min(1e-15)
    x = torch.tanh(sqrt_c * norm) * v / (sqrt_c * norm)
    return project(x, c)


def project(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Keep points strictly inside the ball (radius 1/√c)."""
    limit = (1 - BALL_EPS) / c.sqrt()
    norm = x.norm(dim=-1, keepdim=True).clamp_min(1e-15)
    return torch.where(norm > limit, x / norm * limit, x)


def mobius_add(x: torch.Tensor, y: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    xy, x2, y2 = (x * y).sum(-1, keepdim=True), (x * x).sum(-1, keepdim=True), (y * y).sum(-1, keepdim=True)
    num = (1 + 2 * c * xy + c * y2) * x + (1 - c * x2) * y
    return num / (1 + 2 * c * xy + c * c * x2 * y2).clamp_min(1e-15)


def poincare_distance(x: torch.Tensor, y: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Geodesic distance on the ball: 2/√c · artanh(√c ‖(−x) ⊕ y‖)."""
    sqrt_c = c.sqrt()
    z = (sqrt_c * mobius_add(-x, y, c).norm(dim=-1)).clamp(max=1 - BALL_EPS)
    return 2 / sqrt_c * torch.atanh(z)


@dataclass(frozen=True)
class HyperMultipleConfig(AVCAConfig):
    curvatures: tuple[float, ...] = (0.1, 0.5, 1.0)  # initial curvatures of the balls (our choice)
    alignment_weight: float = 1.0  # weight of the hyperbolic alignment loss (our choice)

    def __post_init__(self) -> None:
        object.__setattr__(self, "curvatures", tuple(float(c) for c in self.curvatures))


class HyperMultiple(AVCA):
    def __init__(self, c: HyperMultipleConfig):
        super().__init__(c)
        # softplus(raw) = c0: curvatures stay positive while they adapt.
        start = torch.tensor(c.curvatures)
        self.raw_curvatures = nn.Parameter(torch.log(torch.expm1(start)))

    def curvatures(self) -> torch.Tensor:
        return F.softplus(self.raw_curvatures)

    def alignment(self, phi_a: torch.Tensor, phi_v: torch.Tensor) -> torch.Tensor:
        """Mean over the balls of the mean geodesic distance between each video's audio and visual points."""
        losses = [poincare_distance(expmap0(phi_a, c), expmap0(phi_v, c), c).mean() for c in self.curvatures()]
        return torch.stack(losses).mean()


class HyperMultipleMethod(AVCAMethod):
    name = "hyper-multiple"
    config_class = HyperMultipleConfig
    # The paper trains on AVCA's setup (unverified: the paper's hyperparameter table could not be read here).
    presets = AVCA_PRESETS
    net_presets = AVCA_NET_PRESETS

    def build(self, config: HyperMultipleConfig) -> HyperMultiple:
        return HyperMultiple(config)

    def losses(self, model: HyperMultiple, batch: Batch) -> dict[str, torch.Tensor]:
        phi = (*model.encode(batch.x), *model.encode(batch.x_neg))
        parts = avca_losses(model, batch, phi)
        parts["loss_hyperbolic"] = model.config.alignment_weight * model.alignment(phi[0], phi[1])
        return parts
