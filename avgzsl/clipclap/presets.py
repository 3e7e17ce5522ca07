"""The paper's per-dataset training hyperparameters and published results, as data (docs/method.md)."""
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


# The paper's published test results (fractions), labelled as such wherever they stand beside ours.
PAPER_RESULTS: dict[str, dict[str, float]] = {
    "ucf": {"test_seen": 0.7714, "test_unseen": 0.4391, "test_hm": 0.5597, "test_zsl": 0.4696},
    "activitynet": {"test_seen": 0.4598, "test_unseen": 0.2006, "test_hm": 0.2793, "test_zsl": 0.2276},
    "vggsound": {"test_seen": 0.2968, "test_unseen": 0.1112, "test_hm": 0.1618, "test_zsl": 0.1153},
}
# The text ablation's published HM with CLIP text only (modality both).
PAPER_CLIP_TEXT_HM: dict[str, float] = {"ucf": 0.4583, "vggsound": 0.1337}
