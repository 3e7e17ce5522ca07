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

from avgzsl.clipclap.presets import Preset
from avgzsl.clipclap.train import TrainConfig
from avgzsl.errors import UserError
from avgzsl.methods.base import Method, MethodError
from avgzsl.methods.registry import BUILTIN, DEFAULT_METHOD, get_method
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
    batch_size: int = 0  # 0: the method's preset for the dataset
    batches_per_epoch: int = 0  # 0: the method's preset for the dataset
    logging_pass: bool = True
    method: str = DEFAULT_METHOD  # clipclap, a baseline of Table 1, or a plug-in (docs/methods.md)
    losses: str = ""  # the method's loss set (Table 4; "" = the full loss)

    def __post_init__(self) -> None:
        method = self.method_object()
        preset = self.preset()
        set_ = object.__setattr__
        if self.losses and self.losses not in method.loss_sets:
            raise SpecError(f"losses {self.losses!r}: method {method.name} "
                            + (f"has the loss sets {', '.join(method.loss_sets)}" if method.loss_sets
                               else "has no loss sets to choose from (--losses is for clipclap, Table 4)"))
        if self.losses == method.default_losses:
            set_(self, "losses", "")
        try:
            set_(self, "modality", canonical_modality(self.modality))
        except ValueError as error:
            raise SpecError(str(error)) from None
        if self.modality not in method.modalities:
            raise SpecError(f"modality {self.modality}: method {method.name} takes {', '.join(method.modalities)} "
                            "(it has separate audio and visual branches)")
        for name, allowed in (("features", FEATURE_SOURCES), ("text", TEXT_SOURCES), ("text_lookup", TEXT_LOOKUPS)):
            if getattr(self, name) not in allowed:
                raise SpecError(f"{name} {getattr(self, name)!r}: expected one of {', '.join(allowed)}")
        set_(self, "epochs", int(self.epochs or preset.epochs))
        set_(self, "lr", float(self.lr or preset.lr))
        set_(self, "batch_size", int(self.batch_size or preset.batch_size))
        set_(self, "batches_per_epoch", int(self.batches_per_epoch or preset.batches_per_epoch))
        for name, low in (("epochs", 1), ("batch_size", 2), ("batches_per_epoch", 1)):
            if getattr(self, name) < low:
                raise SpecError(f"{name} {getattr(self, name)}: expected at least {low}")
        if not self.lr > 0:
            raise SpecError(f"lr {self.lr}: expected a positive learning rate")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise SpecError(f"seed {self.seed!r}: expected a whole number ≥ 0")

    def method_object(self) -> Method:
        """The run's method (a :class:`SpecError` names an unknown or broken one)."""
        try:
            return get_method(self.method)
        except MethodError as error:
            raise SpecError(str(error)) from None

    def preset(self) -> Preset:
        """The method's hyperparameters for the dataset (UCF's for a custom dataset)."""
        return self.method_object().preset(self.dataset)

    @property
    def variant(self) -> str:
        """The key of this run within its dataset (a partition key, a folder name)."""
        preset = self.preset()
        parts = [self.features, self.modality, self.text, self.text_lookup, f"s{self.seed}"]
        parts += [f"{prefix}{show(getattr(self, name))}" for name, prefix, show in _EXTRAS
                  if getattr(self, name) != getattr(preset, name, None)]
        if not self.logging_pass:
            parts.append("nolog")
        if self.method != DEFAULT_METHOD:
            parts.append(self.method)
        if self.losses:
            parts.append(f"l{self.losses}")
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
            if part in BUILTIN or ":" in part:
                given["method"] = part
                continue
            if part.startswith("l") and not part.startswith("lr"):
                given["losses"] = part[1:]
                continue
            for name, prefix, _ in sorted(_EXTRAS, key=lambda e: -len(e[1])):
                if part.startswith(prefix) and re.fullmatch(r"[0-9.e+-]+", part[len(prefix):]):
                    given[name] = (float if name == "lr" else int)(part[len(prefix):])
                    break
            else:
                raise SpecError(f"variant {variant!r}: unknown part {part!r}")
        return cls(dataset=dataset, **given)

    def settings(self) -> dict:
        """Every setting (MLflow params, metrics.json, the results tables)."""
        return asdict(self)

    def train_config(self, device: str = "cpu") -> TrainConfig:
        preset = self.preset()
        return TrainConfig(epochs=self.epochs, lr=self.lr, seed=self.seed, batch_size=self.batch_size,
                           batches_per_epoch=self.batches_per_epoch, weight_decay=preset.weight_decay,
                           lr_patience=preset.lr_patience, logging_pass=self.logging_pass, device=device,
                           losses=self.losses, dataset=self.dataset)


SPEC_FIELDS = tuple(f.name for f in fields(RunSpec))
