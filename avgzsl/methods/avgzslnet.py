"""AVGZSLNet (Mazumder et al., WACV 2021) as AVCA-GZSL runs it (src/model.py AVGZSLNet, src/loss.py AVGZSLLoss),
with W_enc.

Audio, visual and text are embedded into a 64-d space; a shared cross-modal decoder maps
every embedding back to the (300-d) text embedding.  The loss is the composite triplet
loss (text↔audio, text↔visual, with negatives of another class) plus the decoder's
reconstruction distances and its two triplets.  At test time a class's distance is the
sum of the audio and the visual Euclidean distances.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from avgzsl.clipclap.presets import Preset
from avgzsl.methods.base import Batch, Method, split_streams
from avgzsl.methods.layers import WORD_DIM, l2, mlp, text_encoder, triplet


@dataclass(frozen=True)
class AVGZSLNetConfig:
    input_dim: int
    text_dim: int
    visual_dim: int
    embed_dim: int = 64
    hidden_dim: int = 1024  # --embeddings_hidden_size (args.py default)
    decoder_hidden_dim: int = 64  # --decoder_hidden_size (args.py default)
    dropout: float = 0.8  # --embedding_dropout (args.py default)
    decoder_dropout: float = 0.5  # --decoder_dropout (args.py default)
    margin: float = 1.0

    def as_dict(self) -> dict:
        return asdict(self)


class AVGZSLNet(nn.Module):
    def __init__(self, c: AVGZSLNetConfig):
        super().__init__()
        self.config = c
        self.w_enc = text_encoder(c.text_dim, c.dropout)
        self.f_a = mlp(c.input_dim - c.visual_dim, c.hidden_dim, c.embed_dim, c.dropout)
        self.f_v = mlp(c.visual_dim, c.hidden_dim, c.embed_dim, c.dropout)
        self.f_t = mlp(WORD_DIM, WORD_DIM, c.embed_dim, c.dropout)
        self.f_dec = mlp(c.embed_dim, c.decoder_hidden_dim, WORD_DIM, c.decoder_dropout)

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        audio, visual = split_streams(x, self.config.visual_dim)
        return self.f_a(audio), self.f_v(visual)

    def word(self, w: torch.Tensor) -> torch.Tensor:
        """W_enc's output, unit-normalised like the word2vec embeddings the decoder was written to reconstruct."""
        return F.normalize(self.w_enc(w))

    def decode(self, e: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.f_dec(e))  # --normalize_decoder_outputs


class AVGZSLNetMethod(Method):
    name = "avgzslnet"
    config_class = AVGZSLNetConfig
    needs_negatives = True
    modalities = ("both",)
    # AVCA-GZSL run_scripts/*/avgzslnet.sh: 50 epochs, lr 1e-3, 500 batches; args.py: batch size 256; Adam, no
    # weight decay; ReduceLROnPlateau on validation HM, patience 3.
    presets = {d: Preset(lr=1e-3, epochs=50, batch_size=256, batches_per_epoch=500, weight_decay=0.0, lr_patience=3)
               for d in ("ucf", "activitynet", "vggsound")}

    def build(self, config: AVGZSLNetConfig) -> AVGZSLNet:
        return AVGZSLNet(config)

    def losses(self, model: AVGZSLNet, batch: Batch) -> dict[str, torch.Tensor]:
        m = model.config.margin
        a_p, v_p = model.embed(batch.x)
        a_q, v_q = model.embed(batch.x_neg)
        x_t = model.word(batch.class_text[batch.target])
        t_p = model.f_t(x_t)
        t_q = model.f_t(model.word(batch.class_text[batch.target_neg]))
        x_ta_p, x_tv_p, x_tt_p, x_ta_q, x_tv_q = (model.decode(e) for e in (a_p, v_p, t_p, a_q, v_q))
        return {
            "loss_triplet": (triplet(t_p, a_p, a_q, m) + triplet(a_p, t_p, t_q, m) + triplet(t_p, v_p, v_q, m)
                             + triplet(v_p, t_p, t_q, m)),
            "loss_rec": l2(x_tt_p, x_t) + l2(x_ta_p, x_t) + l2(x_tv_p, x_t),
            "loss_decoder_triplet": triplet(x_tt_p, x_ta_p, x_ta_q, m) + triplet(x_tt_p, x_tv_p, x_tv_q, m),
        }

    def embed_videos(self, model: AVGZSLNet, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(model.embed(x), dim=1)

    def embed_classes(self, model: AVGZSLNet, w: torch.Tensor) -> torch.Tensor:
        return model.f_t(model.word(w))

    def distances(self, videos: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """Audio distance + visual distance (AVCA-GZSL's "both" evaluation)."""
        d = classes.shape[1]
        return torch.cdist(videos[:, :d].float(), classes.float()) + torch.cdist(videos[:, d:].float(), classes.float())
