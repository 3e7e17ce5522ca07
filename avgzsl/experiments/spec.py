"""One run specification: what identifies a training run, with a short readable key.

A :class:`RunSpec` is built once (from the CLI or from a partition key), with the
paper's per-dataset defaults filled in and every value validated; its ``variant`` key
names the run everywhere: the Dagster partition, the run folder, the MLflow run name.

Each field is defined here once, with its :class:`~avgzsl.experiments.settings.Setting`
(help, allowed values, key token); a default of ``None`` means the dataset's preset
(:mod:`avgzsl.clipclap.presets`).  The CLI options, a sweep's grid, ``settings()`` (MLflow
params) and the key are generated from these fields.

The key lists, in field order, only what differs from the paper's default run of the
dataset, and always the seed::

    s42                     the paper's UCF run
    audio_clap_s7_e3_bpe60  audio only, CLAP text, seed 7, 3 epochs of 60 batches

To add a setting, add one field here: ``name: type = setting(default, help=..., choices=...
| kind=int/float/bool, key=...)`` (a ``None`` default: the preset's value, added to
:class:`~avgzsl.clipclap.presets.Preset`).  Nothing else changes: it becomes an option of
``reproduce``, ``sweep`` (a list), ``run`` and ``demo``, a column of ``settings()`` (MLflow
params, metrics.json, the results tables) and, when not at its default, a part of the
key; its key tokens must be unlike any other setting's (``test_every_key_token_names_one_setting``).

Keys of earlier versions (``published_both_both_name_s42_e3``) still parse
(:func:`legacy_variant`); :func:`avgzsl.experiments.runs.migrate_run_folders` renames
their run folders.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from functools import cached_property

from avgzsl.clipclap.presets import Preset
from avgzsl.clipclap.train import TrainConfig
from avgzsl.experiments.method_settings import check_method_settings, losses_field, method_field
from avgzsl.experiments.settings import SpecError, setting, settings_of
from avgzsl.methods.base import Method
from avgzsl.methods.registry import DEFAULT_METHOD, get_method
from avgzsl.names import FEATURE_SOURCES, MODALITIES, MODALITY_ALIASES, TEXT_LOOKUPS, TEXT_SOURCES

__all__ = ["RunSpec", "SETTINGS", "SPEC_FIELDS", "SpecError", "legacy_variant", "upgrade_variant"]


@dataclass(frozen=True)
class RunSpec:
    dataset: str
    method: str = method_field()
    losses: str = losses_field()
    features: str = setting("published", choices=FEATURE_SOURCES, option=False,
                            help="the feature tables: the authors' published ones or those extracted here")
    modality: str = setting("both", choices=MODALITIES, aliases=MODALITY_ALIASES,
                            help="the model's input ('video' is an alias of visual)")
    text: str = setting("both", choices=TEXT_SOURCES, help="the class-name text embeddings")
    text_lookup: str = setting("name", choices=TEXT_LOOKUPS,
                               help="how a class finds its text; positional: the authors' defect, for exact "
                                    "comparison")
    seed: int = setting(None, kind=int, minimum=0, key="s", in_key="always", sweep_option="seeds",
                        sweep_required=True, help="the random seed")
    epochs: int = setting(None, kind=int, minimum=1, key="e", help="stage-1 epochs")
    lr: float = setting(None, kind=float, positive=True, key="lr", help="learning rate")
    batch_size: int = setting(None, kind=int, minimum=2, key="bs", help="batch size")
    batches_per_epoch: int = setting(None, kind=int, minimum=1, key="bpe",
                                     help="batches per epoch (fewer for a smoke test)")
    logging_pass: bool = setting(True, kind=bool, key="nolog",
                                 help="the authors' post-step BatchNorm refresh (see benchmarks/README.md)")

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", SETTINGS["method"].check("method", self.method or DEFAULT_METHOD))
        defaults = self.defaults(self.dataset, self.method)
        for name, meta in SETTINGS.items():
            value = getattr(self, name)
            object.__setattr__(self, name, meta.check(name, defaults[name] if value is None else value))
        object.__setattr__(self, "losses", check_method_settings(self.method, self.losses, self.modality))

    @staticmethod
    def defaults(dataset: str, method: str = DEFAULT_METHOD) -> dict:
        """Every setting of the paper's default run of ``dataset`` with ``method`` (None in a field: the method's
        preset value)."""
        preset = get_method(method).preset(dataset)
        return {f.name: getattr(preset, f.name) if f.default is None else f.default
                for f in fields(RunSpec) if f.name in SETTINGS} | {"method": method}

    def method_object(self) -> Method:
        return get_method(self.method)

    def preset(self) -> Preset:
        """The method's hyperparameters for the dataset (UCF's for a custom dataset)."""
        return self.method_object().preset(self.dataset)

    @cached_property
    def variant(self) -> str:
        """The key of this run within its dataset (a partition key, a folder name); computed once."""
        defaults = self.defaults(self.dataset, self.method) | {"method": DEFAULT_METHOD}
        shown = [name for name, meta in SETTINGS.items() if meta.in_key == "always"
                 or (meta.in_key == "differs" and getattr(self, name) != defaults[name])]
        return "_".join(SETTINGS[name].token(getattr(self, name)) for name in shown)

    @classmethod
    def from_variant(cls, dataset: str, variant: str) -> "RunSpec":
        """The spec a variant key names (the inverse of :attr:`variant`; earlier keys are read too)."""
        legacy = legacy_variant(variant)
        given = legacy if legacy is not None else _read_tokens(dataset, variant, variant.split("_"))
        spec = cls(dataset=dataset, **given)
        if legacy is None and spec.variant != variant:
            raise SpecError(f"variant {variant!r}: not in the canonical form (write {spec.variant!r})")
        return spec

    def settings(self) -> dict:
        """Every setting (MLflow params, the run's metrics, the results tables)."""
        return asdict(self)

    def train_config(self, device: str = "cpu") -> TrainConfig:
        preset = self.preset()
        return TrainConfig(epochs=self.epochs, lr=self.lr, seed=self.seed, batch_size=self.batch_size,
                           batches_per_epoch=self.batches_per_epoch, weight_decay=preset.weight_decay,
                           lr_patience=preset.lr_patience, logging_pass=self.logging_pass, device=device,
                           losses=self.losses, dataset=self.dataset)


SETTINGS = settings_of(RunSpec)
SPEC_FIELDS = tuple(f.name for f in fields(RunSpec))
KEY_FORMAT = "the settings that differ from the paper's run, in order, then s<seed> (e.g. audio_clap_s7_e3)"


def _read_tokens(dataset: str, variant: str, tokens: list[str], start: int = 0) -> dict:
    """Settings named by key tokens, which must come in field order (each setting once)."""
    names, defaults, given = list(SETTINGS), RunSpec.defaults(dataset), {}
    position = start
    for token in tokens:
        for index in range(position, len(names)):
            found, value = SETTINGS[names[index]].read(token, defaults[names[index]])
            if found:
                given[names[index]], position = value, index + 1
                break
        else:
            raise SpecError(f"variant {variant!r}: unknown or misplaced part {token!r} (a key is {KEY_FORMAT})")
    return given


_LEGACY = ("features", "modality", "text", "text_lookup")


def legacy_variant(variant: str) -> dict | None:
    """The settings of a key in the earlier format ``<features>_<modality>_<text>_<lookup>_s<seed>[_e3_...]``."""
    parts = variant.split("_")
    if len(parts) < 5 or parts[0] not in FEATURE_SOURCES or not re.fullmatch(r"s\d+", parts[4]):
        return None
    given = dict(zip(_LEGACY, parts[:4]), seed=int(parts[4][1:]))
    after_seed = list(SETTINGS).index("seed") + 1
    return {**given, **_read_tokens("", variant, parts[5:], after_seed)}


def upgrade_variant(variant: str) -> str | None:
    """The current key of a key in the earlier format (the same for every dataset), or None when not one."""
    try:
        legacy = legacy_variant(variant)
        shown = [SETTINGS[name].check(name, legacy[name]) for name in _LEGACY] if legacy else None
    except SpecError:
        return None
    if shown is None:
        return None
    defaults = {f.name: f.default for f in fields(RunSpec)}
    kept = [SETTINGS[name].token(value) for name, value in zip(_LEGACY, shown) if value != defaults[name]]
    return "_".join(kept + variant.split("_")[4:])
