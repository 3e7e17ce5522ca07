"""Encoders as resources: open_clip for frames and CLIP text, laion_clap for audio and CLAP text.

Weights are an explicit choice: ``pretrained`` fails clearly when they cannot be
fetched or found, ``random`` builds the architecture with random weights (tests
and the offline demo) and says so in every feature file and report.  A built
encoder is kept for the process (keyed by its whole spec), so a run over many
shards loads it once.
"""
from typing import Optional

import dagster as dg
from pydantic import Field

from avgzsl.encoders.base import EncoderError, LazyEncoder, build_once, encoder_identity
from avgzsl.encoders.clap import AudioEncoderSpec, build_audio_encoder
from avgzsl.encoders.clip import VisualEncoderSpec, build_visual_encoder
from avgzsl.errors import UserError
from avgzsl.layout import StateLayout

def _cached(spec, build, home: Optional[str]):
    try:
        return build_once(spec, build, StateLayout.resolve(home).prepare().models_dir)
    except EncoderError as error:
        raise dg.Failure(str(error)) from None


def _identity(spec, family: str) -> dict[str, str]:
    try:
        return encoder_identity(spec, family)
    except UserError as error:  # e.g. a device this machine does not have
        raise dg.Failure(str(error)) from None


class VisualEncoderResource(dg.ConfigurableResource):
    """CLIP image/text encoder (default ViT-B-32 with OpenAI's weights, as in the paper)."""

    model_name: str = "ViT-B-32"
    weights: str = Field(default="pretrained", description="pretrained | random")
    pretrained_tag: str = Field(default="openai", description="open_clip tag: openai (the paper's) or e.g. laion2b_s34b_b79k")
    checkpoint_path: Optional[str] = Field(default=None, description="a local open_clip state dict instead")
    model_config_path: Optional[str] = Field(default=None, description="an open_clip architecture JSON "
                                                                       "<model_name>.json not built into open_clip")
    device: str = "auto"
    batch_size: int = 64
    fp16: bool = True
    prefetch_workers: int = 1
    home: Optional[str] = None

    def spec(self) -> VisualEncoderSpec:
        return VisualEncoderSpec(model_name=self.model_name, weights=self.weights, pretrained_tag=self.pretrained_tag,
                                 checkpoint_path=self.checkpoint_path, model_config=self.model_config_path,
                                 device=self.device, batch_size=self.batch_size, fp16=self.fp16)

    def encoder(self):
        return _cached(self.spec(), build_visual_encoder, self.home)

    def lazy(self) -> LazyEncoder:
        """The encoder, built only when a shard needs it (its identity decides skips)."""
        return LazyEncoder(_identity(self.spec(), "open_clip"), self.encoder)


class AudioEncoderResource(dg.ConfigurableResource):
    """CLAP audio/text encoder (laion_clap HTSAT-tiny, non-fusion)."""

    amodel: str = "HTSAT-tiny"
    weights: str = Field(default="pretrained", description="pretrained | random")
    checkpoint: str = Field(default="630k-audioset-best.pt", description="id in lukewys/laion_clap or a local path")
    device: str = "auto"
    batch_size: int = 32
    prefetch_workers: int = 1
    text_tokenizer: str = Field(default="hub", description="hub (the real roberta-base tokenizer) | standin: an "
                                                           "offline stand-in for random weights (tests, offline demo)")
    home: Optional[str] = None

    def spec(self) -> AudioEncoderSpec:
        return AudioEncoderSpec(amodel=self.amodel, weights=self.weights, checkpoint=self.checkpoint,
                                device=self.device, batch_size=self.batch_size, text_tokenizer=self.text_tokenizer)

    def encoder(self):
        return _cached(self.spec(), build_audio_encoder, self.home)

    def lazy(self) -> LazyEncoder:
        """The encoder, built only when a shard needs it (its identity decides skips)."""
        return LazyEncoder(_identity(self.spec(), "laion_clap"), self.encoder)
