"""Encoders as resources: open_clip for frames and CLIP text, laion_clap for audio and CLAP text.

Weights are an explicit choice: ``pretrained`` fails clearly when they cannot be
fetched or found, ``random`` builds the architecture with random weights (tests
and the offline demo) and says so in every feature file and report.  A built
encoder is kept for the process (keyed by its whole spec), so a run over many
shards loads it once.
"""
import dagster as dg

from avgzsl.encoders.base import EncoderError, LazyEncoder, build_once, encoder_identity
from avgzsl.encoders.clap import AudioEncoderSpec, build_audio_encoder
from avgzsl.encoders.clip import VisualEncoderSpec, build_visual_encoder
from avgzsl.errors import UserError
from avgzsl.layout import StateLayout
from resources.config import settings_resource
from resources.state import UsesState

def _cached(spec, build, layout: StateLayout):
    try:
        return build_once(spec, build, layout.models_dir)
    except EncoderError as error:
        raise dg.Failure(str(error)) from None


def _identity(spec, family: str) -> dict[str, str]:
    try:
        return encoder_identity(spec, family)
    except UserError as error:  # e.g. a device this machine does not have
        raise dg.Failure(str(error)) from None


# Not config: a random initialisation's seed and trusting pickled checkpoints stay at the spec's defaults.
_NOT_CONFIG = ("seed", "trust_checkpoint", "enable_fusion")


# pydantic reserves ``model_config``: its config key is model_config_path.
class VisualEncoderResource(settings_resource(VisualEncoderSpec, skip=_NOT_CONFIG,
                                              rename={"model_config": "model_config_path"}), UsesState):
    """CLIP image/text encoder (default ViT-B-32 with OpenAI's weights, as in the paper)."""

    prefetch_workers: int = 1

    def spec(self) -> VisualEncoderSpec:
        return self.core()

    def encoder(self):
        return _cached(self.spec(), build_visual_encoder, self.state.layout())

    def lazy(self) -> LazyEncoder:
        """The encoder, built only when a shard needs it (its identity decides skips)."""
        return LazyEncoder(_identity(self.spec(), "open_clip"), self.encoder)


class AudioEncoderResource(settings_resource(AudioEncoderSpec, skip=_NOT_CONFIG), UsesState):
    """CLAP audio/text encoder (laion_clap HTSAT-tiny, non-fusion)."""

    prefetch_workers: int = 1

    def spec(self) -> AudioEncoderSpec:
        return self.core()

    def encoder(self):
        return _cached(self.spec(), build_audio_encoder, self.state.layout())

    def lazy(self) -> LazyEncoder:
        """The encoder, built only when a shard needs it (its identity decides skips)."""
        return LazyEncoder(_identity(self.spec(), "laion_clap"), self.encoder)
