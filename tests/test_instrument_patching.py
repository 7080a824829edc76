"""optel.instrumentation.patching: the public helper third-party instrumentors patch with."""

from __future__ import annotations

import logging
import sys
import types

import pytest

from optel.instrumentation.patching import PatchSite, patch


def add_module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)

    class Client:
        def fetch(self, key: str) -> str:
            return key.upper()

    module.Client = Client  # type: ignore[attr-defined]
    sys.modules[name] = module
    return module


def shout(wrapped, instance, args, kwargs):
    return wrapped(*args, **kwargs) + "!"


def test_a_site_of_an_imported_module_is_wrapped_now_and_undone_exactly():
    module = add_module("patching_probe_now")
    original = vars(module.Client)["fetch"]
    try:
        done = patch(PatchSite("patching_probe_now", "Client.fetch", shout))
        assert module.Client().fetch("a") == "A!"
        assert done.applied == [PatchSite("patching_probe_now", "Client.fetch", shout)]
        done.undo()
        assert vars(module.Client)["fetch"] is original
        done.undo()
    finally:
        del sys.modules["patching_probe_now"]


def test_a_site_waits_for_its_module_to_be_imported(tmp_path, monkeypatch):
    (tmp_path / "patching_probe_later.py").write_text(
        "class Client:\n    def fetch(self, key):\n        return key.upper()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    done = patch(PatchSite("patching_probe_later", "Client.fetch", shout))
    try:
        assert done.applied == []
        import patching_probe_later

        assert patching_probe_later.Client().fetch("b") == "B!"
    finally:
        done.undo()
        sys.modules.pop("patching_probe_later", None)


def test_a_site_that_is_not_there_is_logged_and_listed_and_the_others_are_wrapped(caplog):
    module = add_module("patching_probe_missing")
    try:
        with caplog.at_level(logging.WARNING, logger="optel"):
            done = patch(
                PatchSite("patching_probe_missing", "Client.gone", shout),
                PatchSite("patching_probe_missing", "Client.fetch", shout),
            )
        assert [s.attribute for s in done.missing] == ["Client.gone"]
        assert "Client.gone" in caplog.text
        assert module.Client().fetch("c") == "C!"
        done.undo()
    finally:
        del sys.modules["patching_probe_missing"]


def test_misuse_raises_at_once():
    with pytest.raises(ValueError):
        PatchSite("", "x", shout)
    with pytest.raises(ValueError):
        PatchSite("m", "x", "not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        patch(("m", "x", shout))  # type: ignore[arg-type]


def test_a_patch_set_is_an_instrumentors_instrument_and_uninstrument():
    from optel.instrumentation.patching import PatchSet

    module = add_module("patching_probe_set")
    original = vars(module.Client)["fetch"]
    built = []

    def sites():
        built.append(1)
        return [PatchSite("patching_probe_set", "Client.fetch", shout)]

    patches = PatchSet(sites)
    try:
        patches.instrument(module)
        patches.instrument(module)
        assert module.Client().fetch("d") == "D!" and built == [1]
        patches.uninstrument(module)
        assert vars(module.Client)["fetch"] is original and patches.patched is None
    finally:
        del sys.modules["patching_probe_set"]
