"""The two run settings that name a method and its loss set; their values are checked against the methods found.

``method`` accepts any method :func:`avgzsl.methods.registry.get_method` finds (built-in,
entry point, ``module:Class``), so its values are not a fixed list; in a variant key a
plug-in's ``_`` is written ``-`` (a key's parts are separated by ``_``; a Python module
name has no ``-``, so the key reads back).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from avgzsl.experiments.settings import Setting, SpecError
from avgzsl.methods.base import MethodError
from avgzsl.methods.clipclap import LOSS_SETS
from avgzsl.methods.registry import BUILTIN, DEFAULT_METHOD, get_method, known


@dataclasses.dataclass(frozen=True)
class MethodSetting(Setting):
    """Any method found; ``examples`` (the built-in names) stand for its values where a list is needed."""

    examples: tuple[str, ...] = tuple(BUILTIN)

    def check(self, label: str, value: Any) -> Any:
        name = str(value).strip()
        try:
            return get_method(name).name
        except MethodError as error:
            raise SpecError(f"{label}: {error}") from None

    def token(self, value: Any) -> str:
        return value.replace("_", "-") if ":" in value else value

    def read(self, token: str, default: Any) -> tuple[bool, Any]:
        value = token.replace("-", "_") if ":" in token else token
        if not value:
            return False, None
        try:
            return True, self.check("method", value)
        except SpecError:
            return False, None

    def describe_list(self) -> str:
        return f"a comma list of {', '.join(known())} or module:Class"


@dataclasses.dataclass(frozen=True)
class LossesSetting(Setting):
    """ClipClap's loss sets of Table 4; "" is every method's full loss."""

    def check(self, label: str, value: Any) -> Any:
        value = str(value).strip()
        if value and value not in self.choices:
            raise SpecError(f"{label} {value!r}: expected one of {', '.join(self.choices)} (Table 4, ClipClap)")
        return value

    def token(self, value: Any) -> str:
        return f"{self.key}{value}"

    def read(self, token: str, default: Any) -> tuple[bool, Any]:
        rest = token[len(self.key):]
        return (True, rest) if token.startswith(self.key) and rest in self.choices else (False, None)


def method_field() -> Any:
    return dataclasses.field(default=DEFAULT_METHOD, metadata={"setting": MethodSetting(
        help="the method: clipclap (the paper's), a baseline of Table 1 (cjme, avgzslnet, avca, hyper-multiple) "
             "or module:Class of a plug-in (docs/methods.md)")})


def losses_field() -> Any:
    return dataclasses.field(default="", metadata={"setting": LossesSetting(
        choices=tuple(LOSS_SETS), key="loss-",
        help="ClipClap's loss set (Table 4): reg, reg+ce or reg+ce+rec; default the method's full loss")})


def check_method_settings(method_name: str, losses: str, modality: str) -> str:
    """The canonical loss set for the method ("" for its full loss); a SpecError when the method cannot take them."""
    method = get_method(method_name)
    if losses and not method.loss_sets:
        raise SpecError(f"--losses {losses}: method {method.name} has no loss sets to choose from "
                        f"(--losses is ClipClap's, Table 4)")
    if losses and losses not in method.loss_sets:
        raise SpecError(f"--losses {losses}: method {method.name} has {', '.join(method.loss_sets)}")
    if modality not in method.modalities:
        raise SpecError(f"--modality {modality}: method {method.name} takes {', '.join(method.modalities)} "
                        "(it has separate audio and visual branches)")
    return "" if losses == method.default_losses else losses
