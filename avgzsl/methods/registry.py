"""Find a method by name: the built-in ones, ``module:Class`` plug-ins, and the ``avgzsl.methods`` entry points."""
from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from avgzsl.methods.base import Method, MethodError, missing_parts

ENTRY_POINT_GROUP = "avgzsl.methods"
DEFAULT_METHOD = "clipclap"
BUILTIN: dict[str, str] = {
    "clipclap": "avgzsl.methods.clipclap:ClipClapMethod",
    "cjme": "avgzsl.methods.cjme:CJMEMethod",
    "avgzslnet": "avgzsl.methods.avgzslnet:AVGZSLNetMethod",
    "avca": "avgzsl.methods.avca:AVCAMethod",
    "hyper-multiple": "avgzsl.methods.hyper_multiple:HyperMultipleMethod",
}


def _plugins() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known() -> list[str]:
    """Every method name this installation knows (built-in first, then entry points)."""
    return list(BUILTIN) + [n for n in _plugins() if n not in BUILTIN]


def _load(target: str, given: str) -> type:
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - any import failure is the plug-in's, named as such
        raise MethodError(f"method {given!r}: module {module_name!r} failed to import "
                          f"({type(error).__name__}: {error})") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise MethodError(f"method {given!r}: module {module_name!r} has no class {class_name!r}")
    missing = missing_parts(cls)
    if missing:
        raise MethodError(f"method {given!r}: {module_name}.{class_name} lacks {', '.join(missing)}")
    return cls


def method_class(name: str) -> type:
    """The class a method name denotes: a built-in, an entry point, or ``module:Class``."""
    name = (name or DEFAULT_METHOD).strip()
    target = BUILTIN.get(name) or _plugins().get(name)
    if target is None and ":" in name:
        target = name
    if target is None:
        raise MethodError(f"method {name!r} is unknown: expected one of {', '.join(known())}, "
                          "or module:Class of a plug-in (docs/methods.md)")
    return _load(target, name)


def get_method(name: str = DEFAULT_METHOD) -> Method:
    """An instance of the named method; its ``name`` is the name it was asked by (what checkpoints record)."""
    method = method_class(name)()
    if ":" in name:
        method.name = name.strip()  # a plug-in is found again by module:Class
    return method
