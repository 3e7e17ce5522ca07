"""Encoders as resources: open_clip for frames and CLIP text, laion_clap for audio and CLAP text.

Weights are an explicit choice: ``pretrained`` fails clearly when they cannot be
fetched or found, ``random`` builds the architecture with random weights (tests
and the offline demo) and says so in every feature file and report.  A built
encoder is kept for the process, so a run over many shards loads it once.
"""
import dataclasses
from typing import Optional

import dagster as dg
from pydantic import Field

from avgzsl.encoders.clap import AudioEncoderSpec, build_audio_encoder
from avgzsl.encoders.clip import VisualEncoderSpec, build_visual_encoder
from avgzsl.state import StateLayout

_BUILT: dict = {}


def _cached(spec, build, cache_dir):
    if spec not in _BUILT:
        _BUILT[spec] = build(spec, cache_dir)
    return _BUILT[spec]


def _cache_dir(home: Optional[str]):
    path = StateLayout.resolve(home).prepare().home / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


class VisualEncoderResource(dg.ConfigurableResource):
    """CLIP image/text encoder (default ViT-B-32, LAION-2B weights)."""

    model_name: str = "ViT-B-32"
    weights: str = Field(default="pretrained", description="pretrained | random")
    pretrained_tag: str = Field(default="openai", description="open_clip tag: openai (the paper's) or e.g. laion2b_s34b_b79k")
    checkpoint_path: Optional[str] = Field(default=None, description="a local open_clip state dict instead")
    device: str = "auto"
    batch_size: int = 64
    fp16: bool = True
    prefetch_workers: int = 1
    home: Optional[str] = None

    def spec(self) -> VisualEncoderSpec:
        return VisualEncoderSpec(model_name=self.model_name, weights=self.weights, pretrained_tag=self.pretrained_tag,
                                 checkpoint_path=self.checkpoint_path, device=self.device,
                                 batch_size=self.batch_size, fp16=self.fp16)

    def encoder(self):
        return _cached(self.spec(), build_visual_encoder, _cache_dir(self.home))


class AudioEncoderResource(dg.ConfigurableResource):
    """CLAP audio/text encoder (laion_clap HTSAT-tiny, non-fusion)."""

    amodel: str = "HTSAT-tiny"
    weights: str = Field(default="pretrained", description="pretrained | random")
    checkpoint: str = Field(default="630k-audioset-best.pt", description="id in lukewys/laion_clap or a local path")
    device: str = "auto"
    batch_size: int = 32
    prefetch_workers: int = 1
    text_hub: str = Field(default="hub", description="hub (the real tokenizers) | standin: an offline stand-in "
                                                      "tokenizer for random weights (tests, offline demo)")
    home: Optional[str] = None

    def spec(self) -> AudioEncoderSpec:
        return AudioEncoderSpec(amodel=self.amodel, weights=self.weights, checkpoint=self.checkpoint,
                                device=self.device, batch_size=self.batch_size)

    def encoder(self):
        if self.text_hub not in ("hub", "standin"):
            raise dg.Failure(f"text_hub must be hub or standin, got {self.text_hub!r}")
        if self.text_hub == "hub":
            return _cached(self.spec(), build_audio_encoder, _cache_dir(self.home))
        if self.weights != "random":
            raise dg.Failure("text_hub=standin only goes with weights=random: pretrained CLAP needs its real tokenizer")
        from avgzsl.encoders.hf_offline import apply_hub_env
        from avgzsl.encoders.standin_hub import build_standin_hub

        apply_hub_env(offline=True, hub_cache=build_standin_hub(_cache_dir(self.home) / "standin-hub"))
        encoder = _cached(self.spec(), build_audio_encoder, _cache_dir(self.home))
        if "stand-in" not in encoder.info.weights_tag:
            encoder.info = dataclasses.replace(
                encoder.info, weights_tag=f"{encoder.info.weights_tag}; text tokenizer: offline stand-in")
        return encoder
