"""One run specification: what identifies a training run, with a short readable key.

A :class:`RunSpec` is built once (from the CLI or from Dagster config), with the
paper's per-dataset defaults filled in and every value validated; its ``variant`` key
names the run everywhere: the Dagster partition, the run folder, the MLflow run name.
The key lists the ablation settings and the seed, then only the settings that differ
from the dataset's preset::

    published_both_both_name_s42            the paper's UCF run
    published_audio_clap_positional_s7_e3_bpe60
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields

from avgzsl.clipclap.presets import preset_for
from avgzsl.clipclap.train import TrainConfig
from avgzsl.errors import UserError
from avgzsl.names import FEATURE_SOURCES, TEXT_LOOKUPS, TEXT_SOURCES, modality as canonical_modality


class SpecError(UserError, ValueError):
    """An invalid run setting; the message names the option and the allowed values."""


# Optional key parts: (field, key prefix, how the value is written).
_EXTRAS = (("epochs", "e", str), ("lr", "lr", lambda v: f"{v:g}"), ("batch_size", "bs", str),
           ("batches_per_epoch", "bpe", str))


@dataclass(frozen=True)
class RunSpec:
    dataset: str
    features: str = "published"
    modality: str = "both"
    text: str = "both"
    text_lookup: str = "name"
    seed: int = 42
    epochs: int = 0  # 0: the dataset's preset
    lr: float = 0.0  # 0: the dataset's preset
    batch_size: int = 64
    batches_per_epoch: int = 300
    logging_pass: bool = True

    def __post_init__(self) -> None:
        preset = preset_for(self.dataset)
        set_ = object.__setattr__
        try:
            set_(self, "modality", canonical_modality(self.modality))
        except ValueError as error:
            raise SpecError(str(error)) from None
        for name, allowed in (("features", FEATURE_SOURCES), ("text", TEXT_SOURCES), ("text_lookup", TEXT_LOOKUPS)):
            if getattr(self, name) not in allowed:
                raise SpecError(f"{name} {getattr(self, name)!r}: expected one of {', '.join(allowed)}")
        set_(self, "epochs", int(self.epochs or preset.epochs))
        set_(self, "lr", float(self.lr or preset.lr))
        for name, low in (("epochs", 1), ("batch_size", 2), ("batches_per_epoch", 1)):
            if getattr(self, name) < low:
                raise SpecError(f"{name} {getattr(self, name)}: expected at least {low}")
        if not self.lr > 0:
            raise SpecError(f"lr {self.lr}: expected a positive learning rate")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise SpecError(f"seed {self.seed!r}: expected a whole number ≥ 0")

    @property
    def variant(self) -> str:
        """The key of this run within its dataset (a partition key, a folder name)."""
        preset = preset_for(self.dataset)
        parts = [self.features, self.modality, self.text, self.text_lookup, f"s{self.seed}"]
        parts += [f"{prefix}{show(getattr(self, name))}" for name, prefix, show in _EXTRAS
                  if getattr(self, name) != getattr(preset, name, None)]
        if not self.logging_pass:
            parts.append("nolog")
        return "_".join(parts)

    @classmethod
    def from_variant(cls, dataset: str, variant: str) -> "RunSpec":
        """The spec a variant key names (the inverse of :attr:`variant`)."""
        parts = variant.split("_")
        if len(parts) < 5 or not re.fullmatch(r"s\d+", parts[4]):
            raise SpecError(f"variant {variant!r}: expected <features>_<modality>_<text>_<lookup>_s<seed>[_...]")
        given: dict = dict(zip(("features", "modality", "text", "text_lookup"), parts[:4]), seed=int(parts[4][1:]))
        for part in parts[5:]:
            if part == "nolog":
                given["logging_pass"] = False
                continue
            for name, prefix, _ in sorted(_EXTRAS, key=lambda e: -len(e[1])):
                if part.startswith(prefix) and re.fullmatch(r"[0-9.e+-]+", part[len(prefix):]):
                    given[name] = (float if name == "lr" else int)(part[len(prefix):])
                    break
            else:
                raise SpecError(f"variant {variant!r}: unknown part {part!r}")
        return cls(dataset=dataset, **given)

    def settings(self) -> dict:
        """Every setting (MLflow params, the run's metrics, the results tables)."""
        return asdict(self)

    def train_config(self, device: str = "cpu") -> TrainConfig:
        preset = preset_for(self.dataset)
        return TrainConfig(epochs=self.epochs, lr=self.lr, seed=self.seed, batch_size=self.batch_size,
                           batches_per_epoch=self.batches_per_epoch, weight_decay=preset.weight_decay,
                           lr_patience=preset.lr_patience, logging_pass=self.logging_pass, device=device)


SPEC_FIELDS = tuple(f.name for f in fields(RunSpec))
