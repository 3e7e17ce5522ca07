"""A sweep: the product of listed run settings, as run specifications.

Any setting of :class:`~avgzsl.experiments.spec.RunSpec` may be listed: ``--seeds 42..46``
(inclusive) or ``1,2,5``; ``--modality audio,visual,both`` and the like are comma lists.
Every value is validated before anything runs; an error names the option.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from avgzsl.experiments.spec import SETTINGS, RunSpec, SpecError


def option_name(name: str, sweep: bool = False) -> str:
    """The command-line option of a setting (``--text-lookup``; in a sweep ``--seeds``)."""
    meta = SETTINGS[name]
    return "--" + ((meta.sweep_option if sweep else None) or name).replace("_", "-")


@dataclass(frozen=True)
class Sweep:
    """The grid of one sweep: (setting, its values) in field order; :meth:`specs` expands it."""

    dataset: str
    grid: tuple[tuple[str, tuple], ...]

    @classmethod
    def parse(cls, dataset: str, **given: Any) -> "Sweep":
        """``given``: setting → text (a list, see :meth:`Setting.parse_list`) or one value; None: the default."""
        unknown = set(given) - set(SETTINGS)
        if unknown:
            raise SpecError(f"not run settings: {', '.join(sorted(unknown))}")
        grid = []
        for name, meta in SETTINGS.items():
            value, label = given.get(name), option_name(name, sweep=True)
            if value is None:
                if meta.sweep_required:
                    raise SpecError(f"{label}: required ({meta.describe_list()})")
                continue
            grid.append((name, meta.parse_list(label, value) if isinstance(value, str) else (meta.check(label, value),)))
        return cls(dataset=dataset, grid=tuple(grid))

    def values(self, name: str) -> tuple:
        return dict(self.grid).get(name, ())

    def specs(self) -> list[RunSpec]:
        """Every run of the grid (validated), the last listed setting (the seed) innermost."""
        names = [name for name, _ in self.grid]
        return [RunSpec(dataset=self.dataset, **dict(zip(names, combo)))
                for combo in itertools.product(*(values for _, values in self.grid))]
