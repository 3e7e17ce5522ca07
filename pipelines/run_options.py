"""The run-setting options of `reproduce`, `sweep`, `run` and `demo`, generated from RunSpec's fields.

Nothing here names a setting: each field of :class:`avgzsl.experiments.spec.RunSpec` with
``option=True`` becomes an option (help, allowed values and default from its
:class:`~avgzsl.experiments.settings.Setting`); in a sweep it takes a list.  An unset
option is None: the dataset's default.
"""
from __future__ import annotations

import argparse
from dataclasses import fields

from avgzsl.experiments.spec import SETTINGS, RunSpec
from avgzsl.experiments.sweep import Sweep, option_name
from avgzsl.names import BENCHMARKS

_FIELD_DEFAULTS = {f.name: f.default for f in fields(RunSpec)}


def default_text(name: str) -> str:
    """A setting's default as help says it: one value, or the paper's value per dataset."""
    per_dataset = {dataset: RunSpec.defaults(dataset)[name] for dataset in BENCHMARKS}
    shown = {dataset: f"{value:g}" if isinstance(value, float) else str(value)
             for dataset, value in per_dataset.items()}
    by_method = "; another method: its own preset" if _FIELD_DEFAULTS.get(name) is None and name != "seed" else ""
    if len(set(shown.values())) == 1:
        return next(iter(shown.values())) + by_method
    return "the paper's per dataset: " + ", ".join(f"{d} {v}" for d, v in shown.items()) + by_method


def _default_clause(name: str) -> str:
    text = default_text(name)
    return f" (default: {text})" if text else ""  # an empty default (e.g. --losses) is described by its help


def add_run_options(parser: argparse.ArgumentParser, sweep: bool = False) -> None:
    """One option per run setting; in a sweep, list-valued."""
    for name, meta in SETTINGS.items():
        if not meta.option:
            continue
        if meta.kind is bool:
            default = _FIELD_DEFAULTS[name]
            flag = f"--{'no-' if default else ''}{name.replace('_', '-')}"
            parser.add_argument(flag, dest=name, action="store_const", const=not default, default=None,
                                help=f"{'without' if default else 'with'} {meta.help}")
        elif sweep:
            default = "" if meta.sweep_required else _default_clause(name)
            parser.add_argument(option_name(name, sweep=True), dest=name, default=None, required=meta.sweep_required,
                                metavar="LIST", help=f"{meta.help}: {meta.describe_list()}{default}")
        else:
            choices = meta.choices + tuple(meta.aliases) if meta.choices else None
            parser.add_argument(option_name(name), dest=name, default=None, choices=choices,
                                type=None if meta.kind is str else meta.kind,
                                help=f"{meta.help}{_default_clause(name)}")


def run_settings(args: argparse.Namespace) -> dict:
    """The run settings given on the command line (checked; an error names the option); unset ones left out."""
    given = {name: getattr(args, name) for name, meta in SETTINGS.items() if meta.option}
    return {name: SETTINGS[name].check(option_name(name), value) for name, value in given.items() if value is not None}


def sweep_grid(args: argparse.Namespace, dataset: str, features: str) -> Sweep:
    """A sweep's grid from its list-valued options (checked; an error names the option)."""
    given = {name: getattr(args, name) for name, meta in SETTINGS.items() if meta.option}
    return Sweep.parse(dataset, features=features, **given)
