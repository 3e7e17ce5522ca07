"""AVCA (Mercea et al., CVPR 2022) as its authors' code runs it (AVCA-GZSL src/model_improvements.py AVCA), with W_enc.

Audio and visual features are encoded to 300-d (A_enc, V_enc), exchanged through a
one-layer cross-attention over the two tokens, and projected to the 64-d joint space
(A_proj, V_proj); text is projected by W_proj.  A shared decoder D maps every joint
embedding back to the text embedding; A_rec, V_rec reconstruct the encoders' outputs.
Triplet losses use a video of another class and that class's text as negatives.  At
test time only the visual embedding θ_v is compared with θ_w (AVCA-GZSL evaluates
``video`` for AVCA), by Euclidean distance.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from avgzsl.clipclap.presets import Preset
from avgzsl.methods.base import Batch, Method, split_streams
from avgzsl.methods.layers import WORD_DIM, CrossAttention, avca_block, text_encoder, triplet


@dataclass(frozen=True)
class AVCAConfig:
    input_dim: int
    text_dim: int
    visual_dim: int
    embed_dim: int = 64  # dim_out (utils_improvements.get_model_params)
    hidden_dim: int = 512  # --embeddings_hidden_size
    decoder_hidden_dim: int = 512  # --decoder_hidden_size
    dropout_enc: float = 0.2  # --embedding_dropout
    dropout_proj: float = 0.3  # --decoder_dropout
    dropout_dec: float = 0.5  # --additional_dropout
    momentum: float = 0.1  # --momentum (BatchNorm)
    margin: float = 1.0

    def as_dict(self) -> dict:
        return asdict(self)


class AVCA(nn.Module):
    def __init__(self, c: AVCAConfig):
        super().__init__()
        self.config = c
        self.w_enc = text_encoder(c.text_dim, c.dropout_dec)
        self.a_enc = avca_block(c.input_dim - c.visual_dim, WORD_DIM, c.dropout_enc, c.momentum, c.hidden_dim)
        self.v_enc = avca_block(c.visual_dim, WORD_DIM, c.dropout_enc, c.momentum, c.hidden_dim)
        self.cross_attention = CrossAttention(WORD_DIM, dropout=c.dropout_enc)
        self.w_proj = avca_block(WORD_DIM, c.embed_dim, c.dropout_dec, c.momentum)
        self.d = avca_block(c.embed_dim, WORD_DIM, c.dropout_dec, c.momentum)
        self.a_proj = avca_block(WORD_DIM, c.embed_dim, c.dropout_proj, c.momentum, c.decoder_hidden_dim)
        self.v_proj = avca_block(WORD_DIM, c.embed_dim, c.dropout_proj, c.momentum, c.decoder_hidden_dim)
        self.a_rec = avca_block(c.embed_dim, WORD_DIM, c.dropout_dec, c.momentum)
        self.v_rec = avca_block(c.embed_dim, WORD_DIM, c.dropout_dec, c.momentum)
        self.pos_emb = nn.Parameter(torch.randn(2, WORD_DIM))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """φ_a, φ_v: the encoders' outputs, before cross-attention."""
        audio, visual = split_streams(x, self.config.visual_dim)
        return self.a_enc(audio), self.v_enc(visual)

    def project(self, phi_a: torch.Tensor, phi_v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """θ_a, θ_v: cross-attention (with the two positional embeddings, residual) then A_proj, V_proj."""
        attn = self.cross_attention(torch.stack([phi_a + self.pos_emb[0], phi_v + self.pos_emb[1]], dim=1))
        return self.a_proj(phi_a + attn[:, 0]), self.v_proj(phi_v + attn[:, 1])


def avca_losses(model: AVCA, batch: Batch, phi: tuple[torch.Tensor, ...] | None = None) -> dict[str, torch.Tensor]:
    """AVCA.backward's loss with --additional_triplets_loss and --reg_loss (both on in every run script)."""
    m, mse = model.config.margin, F.mse_loss
    phi_a, phi_v = phi[:2] if phi else model.encode(batch.x)
    phi_a_neg, phi_v_neg = phi[2:] if phi else model.encode(batch.x_neg)
    w, w_neg = model.w_enc(batch.class_text[batch.target]), model.w_enc(batch.class_text[batch.target_neg])
    theta_w, theta_w_neg = model.w_proj(w), model.w_proj(w_neg)
    rho_w = model.d(theta_w)
    theta_a, theta_v = model.project(phi_a, phi_v)
    theta_a_neg, theta_v_neg = model.project(phi_a_neg, phi_v_neg)
    phi_v_rec, phi_a_rec = model.v_rec(theta_v), model.a_rec(theta_a)
    rho_a, rho_a_neg, rho_v, rho_v_neg = (model.d(t) for t in (theta_a, theta_a_neg, theta_v, theta_v_neg))
    return {
        "loss_rec": mse(w, rho_v) + mse(w, rho_a) + mse(w, rho_w),
        "loss_cross_triplet": triplet(rho_w, rho_a, rho_a_neg, m) + triplet(rho_w, rho_v, rho_v_neg, m),
        "loss_triplet": (triplet(theta_w, theta_a, theta_a_neg, m) + triplet(theta_a, theta_w, theta_w_neg, m)
                         + triplet(theta_w, theta_v, theta_v_neg, m) + triplet(theta_v, theta_w, theta_w_neg, m)),
        "loss_additional_triplet": (triplet(theta_a, theta_w, theta_a_neg, m) + triplet(theta_v, theta_w, theta_v_neg, m)
                                    + triplet(theta_w, theta_a, theta_w_neg, m)
                                    + triplet(theta_w, theta_v, theta_w_neg, m)),
        "loss_reg": mse(phi_v_rec, phi_v) + mse(phi_a_rec, phi_a) + mse(theta_v, theta_w) + mse(theta_a, theta_w),
    }


def _preset(batch_size: int = 256) -> Preset:
    # run_scripts/*/avca.sh: 50 epochs, lr 1e-3, 500 batches; AVCA's own Adam has weight decay 1e-5;
    # ReduceLROnPlateau on validation HM, patience 3; batch size 256 (args.py) except VGGSound (--bs 64).
    return Preset(lr=1e-3, epochs=50, batch_size=batch_size, batches_per_epoch=500, weight_decay=1e-5, lr_patience=3)


AVCA_PRESETS = {"ucf": _preset(), "activitynet": _preset(), "vggsound": _preset(64)}
AVCA_NET_PRESETS = {  # run_scripts/<dataset>/avca.sh, main_features runs
    "ucf": {"dropout_enc": 0.2, "dropout_proj": 0.3, "dropout_dec": 0.5, "momentum": 0.1},
    "activitynet": {"dropout_enc": 0.2, "dropout_proj": 0.2, "dropout_dec": 0.1, "momentum": 0.99},
    "vggsound": {"dropout_enc": 0.0, "dropout_proj": 0.0, "dropout_dec": 0.1, "momentum": 0.1},
}


class AVCAMethod(Method):
    name = "avca"
    config_class = AVCAConfig
    needs_negatives = True
    modalities = ("both",)
    presets = AVCA_PRESETS
    net_presets = AVCA_NET_PRESETS

    def build(self, config: AVCAConfig) -> AVCA:
        return AVCA(config)

    def losses(self, model: AVCA, batch: Batch) -> dict[str, torch.Tensor]:
        return avca_losses(model, batch)

    def embed_videos(self, model: AVCA, x: torch.Tensor) -> torch.Tensor:
        return model.project(*model.encode(x))[1]

    def embed_classes(self, model: AVCA, w: torch.Tensor) -> torch.Tensor:
        return model.w_proj(model.w_enc(w))
