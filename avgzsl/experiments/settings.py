"""How one run setting is described, read, checked and written into a variant key.

Each field of :class:`avgzsl.experiments.spec.RunSpec` carries a :class:`Setting` in its
metadata (``setting(default, help=..., ...)``).  Everything else is generated from it:
the CLI options of ``reproduce``, ``sweep``, ``run`` and ``demo`` (help included), a
sweep's list-valued options, the checks with their one-line errors, and the variant key.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from avgzsl.errors import UserError

_NUMBER = re.compile(r"[0-9][0-9.e+-]*")


class SpecError(UserError, ValueError):
    """An invalid run setting; the message names the option and the allowed values."""


@dataclass(frozen=True)
class Setting:
    """One run setting: its help, allowed values and how it shows in a variant key.

    ``kind``: str (then ``choices``, ``aliases``), int, float or bool.  ``key``: the prefix
    of its key token (``e`` → ``e3``); a choice's token is its value alone; a bool's token
    (shown when it differs from the default) is ``key`` itself.  ``in_key``: ``always``
    (the seed), ``differs`` (only a value other than the dataset's default) or ``never``.
    """

    help: str
    kind: type = str
    choices: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    minimum: float | None = None
    positive: bool = False
    key: str = ""
    in_key: str = "differs"
    option: bool = True
    sweep_option: str | None = None
    sweep_required: bool = False

    # -- reading and checking -------------------------------------------------------------
    def convert(self, label: str, text: str) -> Any:
        """A value from command-line text (not yet checked)."""
        if self.kind is str:
            return text.strip()
        try:
            return self.kind(text.strip())
        except ValueError:
            raise SpecError(f"{label} {text!r}: expected {self._expected()}") from None

    def check(self, label: str, value: Any) -> Any:
        """The canonical value (aliases resolved); a :class:`SpecError` naming ``label`` when not allowed."""
        if self.kind is str:
            value = self.aliases.get(value, value)
            if value not in self.choices:
                alias = "".join(f" (or {a!r} for {v})" for a, v in self.aliases.items())
                raise SpecError(f"{label} {value!r}: expected one of {', '.join(self.choices)}{alias}")
            return value
        if self.kind is bool:
            if not isinstance(value, bool):
                raise SpecError(f"{label} {value!r}: expected true or false")
            return value
        whole = isinstance(value, int) and not isinstance(value, bool)
        if not (whole or (self.kind is float and isinstance(value, float))):
            raise SpecError(f"{label} {value!r}: expected {self._expected()}")
        value = self.kind(value)
        if self.positive and not value > 0:
            raise SpecError(f"{label} {value:g}: expected a number > 0")
        if self.minimum is not None and value < self.minimum:
            raise SpecError(f"{label} {value}: expected at least {self.minimum:g}")
        return value

    def _expected(self) -> str:
        return "a whole number" if self.kind is int else "a number"

    def parse_list(self, label: str, text: str) -> tuple:
        """A sweep's values: a comma list (whole numbers also ``a..b``, inclusive), each once, checked."""
        values: list = []
        for part in (p.strip() for p in str(text).split(",")):
            if not part:
                continue
            span = re.fullmatch(r"(\d+)\.\.(\d+)", part) if self.kind is int else None
            if span:
                lo, hi = int(span[1]), int(span[2])
                if hi < lo:
                    raise SpecError(f"{label} {part}: the range is reversed (write {hi}..{lo})")
                values += range(lo, hi + 1)
            else:
                values.append(self.convert(label, part))
        if not values:
            raise SpecError(f"{label} {text!r}: expected {self.describe_list()}")
        checked = [self.check(label, v) for v in values]
        if len(set(checked)) != len(checked):
            raise SpecError(f"{label} {text}: a value is listed twice")
        return tuple(checked)

    # -- the variant key ------------------------------------------------------------------
    def token(self, value: Any) -> str:
        """How ``value`` shows in a variant key."""
        if self.kind is bool:
            return self.key
        if self.kind is float:
            return f"{self.key}{value:g}"
        return f"{self.key}{value}"

    def read(self, token: str, default: Any) -> tuple[bool, Any]:
        """(whether ``token`` is this setting's, the value it names)."""
        if self.kind is bool:
            return token == self.key, not default
        if not token.startswith(self.key):
            return False, None
        rest = token[len(self.key):]
        if self.kind is str:
            return rest in self.choices, rest
        if not _NUMBER.fullmatch(rest):
            return False, None
        try:
            return True, self.kind(rest)
        except ValueError:
            return False, None

    # -- help ------------------------------------------------------------------------------
    def describe_list(self) -> str:
        if self.kind is str:
            return f"a comma list of {', '.join(self.choices)}"
        if self.kind is int:
            return "a range 'a..b' (inclusive), a list 'a,b,c' or one value"
        return "a comma list of numbers"


def setting(default: Any, **meta) -> Any:
    """A RunSpec field with its :class:`Setting` (``default`` None: the dataset's preset value)."""
    return dataclasses.field(default=default, metadata={"setting": Setting(**meta)})


def settings_of(cls) -> dict[str, Setting]:
    """Field name → Setting of a settings dataclass, in field order."""
    return {f.name: f.metadata["setting"] for f in dataclasses.fields(cls) if "setting" in f.metadata}
