"""Finding methods: built-ins, module:Class plug-ins, entry points; bad ones refused in one line."""
from __future__ import annotations

import sys
import textwrap

import pytest

from avgzsl.methods import MethodError, get_method
from avgzsl.methods import registry


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("plug_")]:
        del sys.modules[name]


def write(folder, name: str, body: str) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent(body))


COMPLETE = """
    from avgzsl.clipclap.presets import Preset
    from avgzsl.methods import Method, NetConfig

    class Good(Method):
        name = "good"
        presets = {"ucf": Preset(lr=1e-3, epochs=1)}
        def build(self, config): ...
        def losses(self, model, batch): ...
        def embed_videos(self, model, x): ...
        def embed_classes(self, model, w): ...

    class Partial(Method):
        name = "partial"
        presets = {"ucf": Preset(lr=1e-3, epochs=1)}
        def build(self, config): ...
"""


def test_an_unknown_method_lists_the_known_ones():
    with pytest.raises(MethodError) as error:
        get_method("clapclip")
    message = str(error.value)
    assert "'clapclip' is unknown" in message and all(
        n in message for n in ("clipclap", "cjme", "avgzslnet", "avca", "hyper-multiple"))


def test_a_plugin_is_found_by_module_and_class_and_keeps_that_name(plugin_dir):
    write(plugin_dir, "plug_ok", COMPLETE)
    method = get_method("plug_ok:Good")
    assert type(method).__name__ == "Good" and method.name == "plug_ok:Good"


def test_a_plugin_lacking_part_of_the_interface_is_named_with_what_is_missing(plugin_dir):
    write(plugin_dir, "plug_partial", COMPLETE)
    lacks = r"plug_partial.Partial lacks losses\(\), embed_videos\(\), embed_classes\(\)"
    with pytest.raises(MethodError, match=lacks):
        get_method("plug_partial:Partial")


def test_a_plugin_that_fails_to_import_is_named_with_the_error(plugin_dir):
    write(plugin_dir, "plug_broken", "import no_such_module_here\n")
    with pytest.raises(MethodError, match="module 'plug_broken' failed to import .*no_such_module_here"):
        get_method("plug_broken:Anything")
    with pytest.raises(MethodError, match="module 'plug_nowhere' failed to import"):
        get_method("plug_nowhere:Anything")
    write(plugin_dir, "plug_empty", "x = 1\n")
    with pytest.raises(MethodError, match="has no class 'Missing'"):
        get_method("plug_empty:Missing")


def test_a_class_that_is_not_a_method_is_refused(plugin_dir):
    write(plugin_dir, "plug_other", "class Thing:\n    pass\n")
    with pytest.raises(MethodError, match="a subclass of avgzsl.methods.Method"):
        get_method("plug_other:Thing")


def test_an_entry_point_names_a_plugin(plugin_dir, monkeypatch):
    write(plugin_dir, "plug_ep", COMPLETE)
    monkeypatch.setattr(registry, "_plugins", lambda: {"good": "plug_ep:Good"})
    assert "good" in registry.known()
    assert type(get_method("good")).__name__ == "Good"
