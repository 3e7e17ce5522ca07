"""The ClipClap network and its three losses (docs/method.md, "Network").

Every block is ``Linear → BatchNorm1d → ReLU → Dropout``, optionally preceded by a
hidden ``Linear → BatchNorm1d → ReLU → Dropout``.  Input sizes come from the data.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class ClipClapConfig:
    """Sizes of the network; ``input_dim``/``text_dim`` are read off the features."""

    input_dim: int
    text_dim: int
    embed_dim: int = 512  # output of O_enc / W_enc and of both decoders
    joint_dim: int = 64  # the joint space of θ_o and θ_w
    hidden_dim: int = 512  # hidden layer of O_proj and D_o
    dropout: float = 0.1

    def as_dict(self) -> dict:
        return asdict(self)


def embedding_block(in_dim: int, out_dim: int, dropout: float, hidden_dim: int | None = None) -> nn.Sequential:
    layers: list[nn.Module] = []
    if hidden_dim:
        layers += [nn.Linear(in_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(), nn.Dropout(dropout)]
        in_dim = hidden_dim
    layers += [nn.Linear(in_dim, out_dim), nn.BatchNorm1d(out_dim), nn.ReLU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers)


class ClipClap(nn.Module):
    """O_enc, W_enc, O_proj, D_o, W_proj, D_w of the paper (lower-cased here)."""

    def __init__(self, config: ClipClapConfig):
        super().__init__()
        c = config
        self.config = config
        self.o_enc = embedding_block(c.input_dim, c.embed_dim, c.dropout)
        self.w_enc = embedding_block(c.text_dim, c.embed_dim, c.dropout)
        self.o_proj = embedding_block(c.embed_dim, c.joint_dim, c.dropout, c.hidden_dim)
        self.d_o = embedding_block(c.joint_dim, c.embed_dim, c.dropout, c.hidden_dim)
        self.w_proj = embedding_block(c.embed_dim, c.joint_dim, c.dropout)
        self.d_w = embedding_block(c.joint_dim, c.embed_dim, c.dropout)

    def embed_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """θ_o: the joint-space embedding of audio-visual inputs."""
        return self.o_proj(self.o_enc(x))

    def embed_classes(self, w: torch.Tensor) -> torch.Tensor:
        """θ_w: the joint-space embedding of class text embeddings."""
        return self.w_proj(self.w_enc(w))

    def losses(self, x: torch.Tensor, class_w: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """The three loss parts for a batch.

        ``x``: inputs (B, input_dim); ``class_w``: text embeddings of all training
        classes (K, text_dim); ``target``: index of each sample's class into
        ``class_w``, so the sample's own class embedding is ``class_w[target]``.
        W_enc's first Linear is applied once to the K class embeddings and its
        rows gathered for the batch (the same numbers as applying it to the B
        gathered embeddings, at K/B of the cost); BatchNorm still sees the batch
        and the class set separately, as in the authors' code.  Modules run in
        the order of the authors' code (the order dropout draws its random
        numbers and BatchNorm updates its statistics).
        """
        o = self.o_enc(x)
        class_lin = self.w_enc[0](class_w)
        w_enc = self.w_enc[1:](class_lin[target])
        theta_o = self.o_proj(o)
        rho_o = self.d_o(theta_o)
        theta_w = self.w_proj(w_enc)
        rho_w = self.d_w(theta_w)
        class_theta = self.w_proj(self.w_enc[1:](class_lin))
        loss_ce = F.cross_entropy(theta_o @ class_theta.t(), target)
        loss_reg = F.mse_loss(theta_o, theta_w)
        loss_rec = F.mse_loss(rho_o, w_enc) + F.mse_loss(rho_w, w_enc)
        return {"loss": loss_ce + loss_reg + loss_rec, "loss_ce": loss_ce, "loss_reg": loss_reg, "loss_rec": loss_rec}

    @torch.no_grad()
    def logging_pass(self, x: torch.Tensor, class_w: torch.Tensor, target: torch.Tensor) -> None:
        """The authors' post-step train-mode pass through O_enc, W_enc, O_proj, W_proj.

        Its outputs only fed logging there; what it changes is the BatchNorm
        running statistics (and the dropout random stream).
        """
        o = self.o_enc(x)
        w = self.w_enc[1:](self.w_enc[0](class_w)[target])
        self.o_proj(o)
        self.w_proj(w)


def build_model(config: ClipClapConfig) -> ClipClap:
    return ClipClap(config)
