"""The paper's per-dataset training hyperparameters, as data (docs/method.md, "Training")."""
from __future__ import annotations

from dataclasses import dataclass

from avgzsl.names import BENCHMARKS


@dataclass(frozen=True)
class Preset:
    lr: float
    epochs: int
    batch_size: int = 64
    batches_per_epoch: int = 300
    weight_decay: float = 1e-5
    lr_patience: int = 3
    seed: int = 42


PRESETS: dict[str, Preset] = {
    "ucf": Preset(lr=7e-5, epochs=20),
    "activitynet": Preset(lr=1e-4, epochs=15),
    "vggsound": Preset(lr=1e-4, epochs=15),
}
assert tuple(PRESETS) == BENCHMARKS
DEFAULT_PRESET = "ucf"  # custom datasets start from UCF's settings


def preset_for(dataset: str) -> Preset:
    """The benchmark's preset, or UCF's for a custom dataset."""
    return PRESETS.get(dataset, PRESETS[DEFAULT_PRESET])
