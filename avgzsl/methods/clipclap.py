"""ClipClap (the paper's method) as one method among the others; the network is :mod:`avgzsl.clipclap.model`."""
from __future__ import annotations

import torch

from avgzsl.clipclap.model import ClipClap, ClipClapConfig
from avgzsl.clipclap.presets import PRESETS
from avgzsl.methods.base import Batch, Method

# Table 4 of the paper: which loss parts are trained (the default is the full loss).
LOSS_SETS = {
    "reg": ("loss_reg",),
    "reg+ce": ("loss_reg", "loss_ce"),
    "reg+ce+rec": ("loss_ce", "loss_reg", "loss_rec"),
}


class ClipClapMethod(Method):
    name = "clipclap"
    config_class = ClipClapConfig
    presets = PRESETS
    loss_sets = LOSS_SETS
    default_losses = "reg+ce+rec"

    def make_config(self, input_dim: int, text_dim: int, visual_dim: int = 0, dataset: str = "ucf") -> ClipClapConfig:
        return ClipClapConfig(input_dim=input_dim, text_dim=text_dim)

    def build(self, config: ClipClapConfig) -> ClipClap:
        return ClipClap(config)

    def losses(self, model: ClipClap, batch: Batch) -> dict[str, torch.Tensor]:
        parts = model.losses(batch.x, batch.class_text, batch.target)
        return {k: parts[k] for k in ("loss_ce", "loss_reg", "loss_rec")}

    def after_step(self, model: ClipClap, batch: Batch) -> None:
        model.logging_pass(batch.x, batch.class_text, batch.target)

    def embed_videos(self, model: ClipClap, x: torch.Tensor) -> torch.Tensor:
        return model.embed_inputs(x)

    def embed_classes(self, model: ClipClap, w: torch.Tensor) -> torch.Tensor:
        return model.embed_classes(w)
