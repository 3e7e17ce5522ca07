"""CJME (Parida et al., WACV 2020) as AVCA-GZSL runs it (src/model.py CJME, src/loss.py CJMELoss), with W_enc.

Audio, visual and text are embedded into a 64-d space by three two-layer nets; an
attention unit on concat(audio, visual) weights a per-sample mix of the text→audio and
text→visual triplet losses, and is itself supervised by which modality's class
posterior has the lower entropy.  At test time the thresholded attention picks the
audio or the visual distance of each video.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from avgzsl.clipclap.presets import Preset
from avgzsl.methods.base import Batch, Method, split_streams
from avgzsl.methods.layers import WORD_DIM, mlp, text_encoder

ENTROPY_MARGIN = 0.1  # CJMELoss.epsilon


@dataclass(frozen=True)
class CJMEConfig:
    input_dim: int
    text_dim: int
    visual_dim: int
    embed_dim: int = 64
    hidden_dim: int = 1024  # --embeddings_hidden_size (args.py default)
    dropout: float = 0.2  # --dropout_baselines
    margin: float = 1.0

    def as_dict(self) -> dict:
        return asdict(self)


class CJME(nn.Module):
    def __init__(self, c: CJMEConfig):
        super().__init__()
        self.config = c
        audio_dim = c.input_dim - c.visual_dim
        self.w_enc = text_encoder(c.text_dim, c.dropout)
        self.f_a = mlp(audio_dim, c.hidden_dim, c.embed_dim, c.dropout, final_relu=True)
        self.f_v = mlp(c.visual_dim, c.hidden_dim, c.embed_dim, c.dropout, final_relu=True)
        self.f_t = mlp(WORD_DIM, WORD_DIM, c.embed_dim, c.dropout, final_relu=True)
        self.attention = nn.Sequential(nn.BatchNorm1d(c.input_dim), nn.Linear(c.input_dim, 1), nn.Sigmoid())

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(audio embedding, visual embedding, attention weight ∈ (0, 1): 1 favours visual) of input rows."""
        audio, visual = split_streams(x, self.config.visual_dim)
        return self.f_a(audio), self.f_v(visual), self.attention(torch.cat([audio, visual], dim=1))

    def embed_text(self, w: torch.Tensor) -> torch.Tensor:
        return self.f_t(self.w_enc(w))


def attention_target(a: torch.Tensor, v: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """CJME's attention supervision: 1 (visual) when the audio posterior's entropy is higher by more than
    the margin, 0 (audio) when the visual one's is, 0.5 when they are within the margin."""
    def entropy(e: torch.Tensor) -> torch.Tensor:
        p = torch.softmax(e.detach() @ classes.t(), dim=1)
        return -(p * torch.log(p.clamp_min(1e-12))).sum(1)

    ent_a, ent_v = entropy(a), entropy(v)
    target = torch.ones_like(ent_a)
    target[ent_v - ent_a - ENTROPY_MARGIN > 0] = 0.0
    target[(ent_a - ent_v).abs() <= ENTROPY_MARGIN] = 0.5
    return target.unsqueeze(1)


class CJMEMethod(Method):
    name = "cjme"
    config_class = CJMEConfig
    needs_negatives = True
    modalities = ("both",)
    # AVCA-GZSL run_scripts/*/cjme.sh: 50 epochs, lr 1e-3, 500 batches; args.py: batch size 256; Adam, no weight decay.
    presets = {d: Preset(lr=1e-3, epochs=50, batch_size=256, batches_per_epoch=500, weight_decay=0.0, lr_patience=3)
               for d in ("ucf", "activitynet", "vggsound")}
    net_presets = {"ucf": {"dropout": 0.2}, "activitynet": {"dropout": 0.2}, "vggsound": {"dropout": 0.0}}

    def build(self, config: CJMEConfig) -> CJME:
        return CJME(config)

    def losses(self, model: CJME, batch: Batch) -> dict[str, torch.Tensor]:
        a_p, v_p, att = model.embed(batch.x)
        a_q, v_q, _ = model.embed(batch.x_neg)
        t_p = model.embed_text(batch.class_text[batch.target])
        classes = model.embed_text(batch.class_text).detach()  # the training classes, as in the original
        m = model.config.margin
        l_ta = F.triplet_margin_loss(t_p, a_p, a_q, margin=m, reduction="none").unsqueeze(1)
        l_tv = F.triplet_margin_loss(t_p, v_p, v_q, margin=m, reduction="none").unsqueeze(1)
        return {"loss_triplet": ((1 - att) * l_ta + att * l_tv).mean(),
                "loss_av": F.mse_loss(a_p, v_p),
                "loss_attention": F.mse_loss(att, attention_target(a_p, v_p, classes))}

    def embed_videos(self, model: CJME, x: torch.Tensor) -> torch.Tensor:
        a, v, att = model.embed(x)
        return torch.cat([a, v, (att >= 0.5).to(a.dtype)], dim=1)

    def embed_classes(self, model: CJME, w: torch.Tensor) -> torch.Tensor:
        return model.embed_text(w)

    def distances(self, videos: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """The thresholded attention picks each video's audio (0) or visual (1) Euclidean distance."""
        d = classes.shape[1]
        a, v, pick = videos[:, :d], videos[:, d:2 * d], videos[:, 2 * d:]
        return (1 - pick) * torch.cdist(a.float(), classes.float()) + pick * torch.cdist(v.float(), classes.float())
