"""Building blocks the baselines share, written after AVCA-GZSL's src/model.py and src/model_improvements.py."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

WORD_DIM = 300  # the baselines' text branch takes 300-d (word2vec) class embeddings


def text_encoder(text_dim: int, dropout: float) -> nn.Sequential:
    """W_enc, the first layer the paper adds to every baseline (§4.1): concat(w_clip, w_clap) → 300.

    Linear → BatchNorm → ReLU → Dropout, like ClipClap's W_enc; its output takes the place
    of the 300-d word2vec embedding the baselines were written for.
    """
    return nn.Sequential(nn.Linear(text_dim, WORD_DIM), nn.BatchNorm1d(WORD_DIM), nn.ReLU(), nn.Dropout(dropout))


def mlp(in_dim: int, hidden: int, out_dim: int, dropout: float, final_relu: bool = False) -> nn.Sequential:
    """AVGZSLNet's / CJME's EmbeddingNet with BatchNorm: Linear → BN → ReLU → Dropout → Linear [→ ReLU]."""
    layers: list[nn.Module] = [nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(dropout),
                               nn.Linear(hidden, out_dim)]
    return nn.Sequential(*layers, nn.ReLU()) if final_relu else nn.Sequential(*layers)


def avca_block(in_dim: int, out_dim: int, dropout: float, momentum: float, hidden: int = 0) -> nn.Sequential:
    """AVCA's EmbeddingNet: [Linear → BN → ReLU → Dropout →] Linear → BN → ReLU → Dropout.

    As in the original, the output BatchNorm takes ``momentum`` only when there is a hidden layer.
    """
    layers: list[nn.Module] = []
    if hidden:
        layers += [nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(dropout)]
        in_dim = hidden
    norm = nn.BatchNorm1d(out_dim, momentum=momentum) if hidden else nn.BatchNorm1d(out_dim)
    return nn.Sequential(*layers, nn.Linear(in_dim, out_dim), norm, nn.ReLU(), nn.Dropout(dropout))


def triplet(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """torch's TripletMarginLoss (L2, mean over the batch), margin 1 as in AVCA-GZSL."""
    return F.triplet_margin_loss(anchor, positive, negative, margin=margin)


def l2(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """AVCA-GZSL's L2Loss, averaged over the batch: mean ‖x − y‖₂."""
    return (x - y).pow(2).sum(1).sqrt().mean()


class CrossAttention(nn.Module):
    """AVCA's one-layer pre-norm transformer over the two tokens (audio, visual); heads 3 × 100, MLP 64, GELU."""

    def __init__(self, dim: int = WORD_DIM, heads: int = 3, dim_head: int = 100, mlp_dim: int = 64,
                 dropout: float = 0.0, depth: int = 1):
        super().__init__()
        self.heads, self.scale = heads, dim_head ** -0.5
        self.layers = nn.ModuleList()
        for _ in range(depth):
            self.layers.append(nn.ModuleList([
                nn.LayerNorm(dim), nn.Linear(dim, heads * dim_head * 3, bias=False),
                nn.Sequential(nn.Linear(heads * dim_head, dim), nn.Dropout(dropout)),
                nn.LayerNorm(dim),
                nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp_dim, dim),
                              nn.Dropout(dropout)),
            ]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        for norm1, qkv, out, norm2, ff in self.layers:
            q, k, v = (t.view(b, n, self.heads, -1).transpose(1, 2) for t in qkv(norm1(x)).chunk(3, dim=-1))
            attn = torch.softmax(q @ k.transpose(-1, -2) * self.scale, dim=-1)
            x = out((attn @ v).transpose(1, 2).reshape(b, n, -1)) + x
            x = ff(norm2(x)) + x
        return x
