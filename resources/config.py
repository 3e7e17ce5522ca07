"""A resource's config generated from the core settings object it holds (no field restated).

``settings_resource(MediaSettings)`` is a ConfigurableResource base whose config fields are
the dataclass's fields (types, defaults, and descriptions from ``field(metadata={"help": ...})``);
its :meth:`core` builds the settings object.  Subclasses add what only the resource has.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any

import dagster as dg
from pydantic import Field


def settings_resource(core: type, skip: tuple[str, ...] = (), rename: dict[str, str] | None = None) -> type:
    """A ConfigurableResource base with one config field per field of the dataclass ``core`` (less ``skip``).

    ``rename``: config keys for fields whose name pydantic reserves (``model_config``).
    """
    hints = typing.get_type_hints(core)
    namespace: dict[str, Any] = {"__annotations__": {}, "__module__": __name__}
    names: dict[str, str] = {}  # core field → config key
    for f in dataclasses.fields(core):
        if f.name in skip or not f.init:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        key = (rename or {}).get(f.name, f.name)
        namespace["__annotations__"][key] = hints[f.name]
        namespace[key] = Field(default=default, description=f.metadata.get("help"))
        names[f.name] = key

    def make(self, **overrides):
        """The core settings object of this resource's config."""
        return core(**{name: getattr(self, key) for name, key in names.items()}, **overrides)

    namespace["core"] = make
    return type(dg.ConfigurableResource)(f"{core.__name__}Config", (dg.ConfigurableResource,), namespace)
