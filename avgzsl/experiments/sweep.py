"""A sweep: the product of seeds and ablation settings, as run specifications.

``--seeds 42..46`` (inclusive) or ``1,2,5``; ``--modality audio,visual,both`` and the
like are comma lists.  Every value is validated before anything runs; an error names
the option.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from avgzsl.experiments.spec import RunSpec, SpecError
from avgzsl.methods.base import MethodError
from avgzsl.methods.registry import DEFAULT_METHOD, get_method, known
from avgzsl.names import MODALITIES, MODALITY_ALIASES, TEXT_LOOKUPS, TEXT_SOURCES


def parse_seeds(text: str) -> list[int]:
    """``a..b`` (inclusive), ``a,b,c`` or a single seed."""
    text = text.strip()
    found = re.fullmatch(r"(\d+)\.\.(\d+)", text)
    if found:
        lo, hi = int(found[1]), int(found[2])
        if hi < lo:
            raise SpecError(f"--seeds {text}: the range is reversed (write {hi}..{lo})")
        return list(range(lo, hi + 1))
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise SpecError(f"--seeds {text!r}: expected a range 'a..b', a list 'a,b,c' or one seed (whole numbers ≥ 0)")
    seeds = [int(p) for p in parts]
    if len(set(seeds)) != len(seeds):
        raise SpecError(f"--seeds {text}: a seed is listed twice")
    return seeds


def parse_choices(option: str, text: str, allowed: tuple[str, ...], aliases: dict[str, str] | None = None) -> list[str]:
    """A comma list of values among ``allowed`` (aliases mapped), in the given order, each once."""
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values:
        raise SpecError(f"{option} {text!r}: expected one or more of {', '.join(allowed)}")
    out = []
    for value in values:
        name = (aliases or {}).get(value, value)
        if name not in allowed:
            raise SpecError(f"{option} {value!r}: expected one of {', '.join(allowed)}")
        if name not in out:
            out.append(name)
    return out


@dataclass(frozen=True)
class Sweep:
    """The grid of one sweep; :meth:`specs` expands it."""

    dataset: str
    seeds: tuple[int, ...]
    modalities: tuple[str, ...] = ("both",)
    texts: tuple[str, ...] = ("both",)
    lookups: tuple[str, ...] = ("name",)
    methods: tuple[str, ...] = (DEFAULT_METHOD,)
    features: str = "published"
    epochs: int = 0
    lr: float = 0.0
    batch_size: int = 0
    batches_per_epoch: int = 0
    logging_pass: bool = True
    losses: str = ""

    @classmethod
    def parse(cls, dataset: str, seeds: str, modality: str = "both", text: str = "both", text_lookup: str = "name",
              method: str = DEFAULT_METHOD, **settings) -> "Sweep":
        return cls(dataset=dataset, seeds=tuple(parse_seeds(seeds)), methods=tuple(parse_methods(method)),
                   modalities=tuple(parse_choices("--modality", modality, MODALITIES, MODALITY_ALIASES)),
                   texts=tuple(parse_choices("--text", text, TEXT_SOURCES)),
                   lookups=tuple(parse_choices("--text-lookup", text_lookup, TEXT_LOOKUPS)), **settings)

    def specs(self) -> list[RunSpec]:
        """Every run of the grid (validated), methods outermost, seeds innermost."""
        return [RunSpec(dataset=self.dataset, features=self.features, modality=m, text=t, text_lookup=lookup,
                        seed=seed, epochs=self.epochs, lr=self.lr, batch_size=self.batch_size,
                        batches_per_epoch=self.batches_per_epoch, logging_pass=self.logging_pass, method=method,
                        losses=self.losses)
                for method, m, t, lookup, seed in itertools.product(self.methods, self.modalities, self.texts,
                                                                    self.lookups, self.seeds)]


def parse_methods(text: str) -> list[str]:
    """A comma list of method names (built-in, entry point or module:Class), each found and complete, each once."""
    names = [v.strip() for v in text.split(",") if v.strip()]
    if not names:
        raise SpecError(f"--method {text!r}: expected one or more of {', '.join(known())}")
    for name in names:
        try:
            get_method(name)
        except MethodError as error:
            raise SpecError(f"--method: {error}") from None
    return list(dict.fromkeys(names))
