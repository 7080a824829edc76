"""optel.instrumentation: names, entry points, the post-import hook, idempotence and exact undoing."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap

import pytest

import optel
import optel.testing
from optel.instrumentation import UnknownInstrumentorError, when_imported

registry = sys.modules["optel.instrumentation"]


@pytest.fixture(autouse=True)
def nothing_left_instrumented():
    yield
    optel.uninstrument()


def run(python: str, code: str, **env: str) -> str:
    done = subprocess.run(
        [python, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, **env},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_instrument_imports_neither_the_targets_nor_wrapt_until_the_host_does(python):
    out = run(
        python,
        """
        import json, sys
        import optel
        optel.instrument(
            "openai", "anthropic", "click", "typer", "argparse",
            "litellm", "ollama", "mistralai", "google_genai", "bedrock",
        )
        watched = (
            "openai", "anthropic", "click", "typer", "argparse", "wrapt",
            "litellm", "ollama", "mistralai", "google.genai", "botocore", "botocore.client",
        )
        before = [m for m in watched if m in sys.modules]
        import click
        after = [m for m in watched if m in sys.modules]
        wrapped = hasattr(click.core.Command.invoke, "__wrapped__")
        loader_kept = type(click.__spec__.loader).__name__
        print(json.dumps([before, after, wrapped, loader_kept]))
        """,
    )
    before, after, wrapped, loader = json.loads(out)
    assert before == []
    # The CLI frameworks are patched without wrapt: it would cost every start of a CLI ~140 ms.
    assert "click" in after and "wrapt" not in after and "openai" not in after
    assert not {"litellm", "ollama", "botocore"} & set(after)
    assert wrapped is True
    assert loader == "SourceFileLoader"


def test_instrument_patches_a_library_already_imported_right_away():
    import click

    original = click.core.Command.__dict__["invoke"]
    optel.instrument("click")
    assert click.core.Command.__dict__["invoke"] is not original
    assert click.core.Command.invoke.__wrapped__ is original


def test_instrument_twice_patches_once_and_uninstrument_restores_the_very_originals():
    import argparse

    import anthropic.resources.messages as amessages
    import click
    import openai.resources.chat.completions as chat
    import openai.resources.embeddings as embeddings
    import openai.resources.responses as responses

    try:  # recent typer releases carry their own click; older ones (Python 3.9's) run on click
        import typer._click.core as typer_core

        typer_sites = [(typer_core.Command, "invoke")]
    except ImportError:
        typer_sites = []
    sites = [
        (chat.Completions, "create"),
        (chat.AsyncCompletions, "create"),
        (responses.Responses, "create"),
        (responses.AsyncResponses, "create"),
        (embeddings.Embeddings, "create"),
        (embeddings.AsyncEmbeddings, "create"),
        (amessages.Messages, "create"),
        (amessages.AsyncMessages, "create"),
        (click.core.Command, "invoke"),
        *typer_sites,
        (argparse.ArgumentParser, "parse_known_args"),
    ]
    originals = [owner.__dict__[name] for owner, name in sites]

    # While recording: the LLM SDKs' patches wait for something to be recorded.
    with optel.testing.capture():
        optel.instrument("openai", "anthropic", "click", "typer", "argparse")
        optel.instrument("openai", "anthropic", "click", "typer", "argparse")
    for (owner, name), original in zip(sites, originals):
        patched = owner.__dict__[name]
        assert patched is not original, (owner, name)
        assert patched.__wrapped__ is original, f"{owner.__name__}.{name} wrapped twice"

    optel.uninstrument("openai", "anthropic", "click", "typer", "argparse")
    for (owner, name), original in zip(sites, originals):
        assert owner.__dict__[name] is original, (owner, name)
    assert registry.instrumented() == []


def test_instrument_with_no_names_switches_on_every_builtin_one():
    optel.instrument()
    assert registry.instrumented() == list(registry.BUILTIN)


def test_an_unknown_instrumentor_name_raises_a_precise_error_before_anything_is_patched():
    import click

    original = click.core.Command.__dict__["invoke"]
    with pytest.raises(UnknownInstrumentorError, match=r"'langchain'.*known: .*openai"):
        optel.instrument("click", "langchain")
    assert issubclass(UnknownInstrumentorError, ValueError)
    assert click.core.Command.__dict__["invoke"] is original
    assert registry.instrumented() == []


def test_optel_instrument_stays_the_function_after_the_instrumentors_are_imported(python):
    out = run(
        python,
        """
        import optel.instrumentation.click
        import optel
        optel.instrument("click")
        from optel import instrument
        instrument("typer")
        print(sorted(optel.instrumentation.instrumented()))
        """,
    )
    assert out.strip() == "['click', 'typer']"


def test_names_are_case_insensitive():
    optel.instrument("OpenAI")
    assert registry.instrumented() == ["openai"]


def test_builtin_targets_match_their_modules_and_optel_declares_no_entry_point_for_them():
    """The built-in instrumentors are found through BUILTIN alone: an entry point of optel's own
    for them would be a second list that nothing reads."""
    from importlib.metadata import distribution

    for name, target in registry.BUILTIN.items():
        module = importlib.import_module(f"optel.instrumentation.{name}")
        assert target == module.TARGET
        assert callable(module.instrument) and callable(module.uninstrument)
    groups = {ep.group for ep in distribution("optel").entry_points}
    assert groups == {"console_scripts", "pytest11"}


def write_plugin(root, name="frobnicate"):
    """A third-party instrumentor, installed the way pip would: a module and a dist-info."""
    (root / "frob_target.py").write_text("VALUE = 1\n")
    (root / "frob_instrumentor.py").write_text(
        textwrap.dedent(
            """
            TARGET = "frob_target"
            calls = []

            def instrument(module):
                calls.append(("instrument", module.__name__, module.VALUE))

            def uninstrument(module):
                calls.append(("uninstrument", module.__name__))
            """
        )
    )
    dist = root / "frob_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: frob-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[optel.instrumentors]\n{name} = frob_instrumentor\n")


def test_a_third_party_instrumentor_is_found_through_the_entry_point_group(tmp_path, monkeypatch):
    write_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("frob_target", "frob_instrumentor"):
        monkeypatch.delitem(sys.modules, name, raising=False)

    optel.instrument("frobnicate")
    plugin = sys.modules["frob_instrumentor"]
    assert plugin.calls == []
    import frob_target  # noqa: F401

    assert plugin.calls == [("instrument", "frob_target", 1)]
    optel.uninstrument("frobnicate")
    assert plugin.calls[-1] == ("uninstrument", "frob_target")


def test_an_entry_point_that_is_not_an_instrumentor_is_refused(tmp_path, monkeypatch):
    write_plugin(tmp_path, name="broken")
    (tmp_path / "frob_instrumentor.py").write_text("TARGET = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "frob_instrumentor", raising=False)
    with pytest.raises(UnknownInstrumentorError, match="needs TARGET"):
        optel.instrument("broken")


def test_a_hook_runs_once_the_module_has_executed_and_leaves_its_real_loader(tmp_path, monkeypatch):
    (tmp_path / "late_module.py").write_text("import sys\nDONE = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []
    when_imported("late_module", lambda m: seen.append((m.__name__, m.DONE)))
    assert seen == []
    import late_module

    assert seen == [("late_module", True)]
    assert type(late_module.__loader__).__name__ == "SourceFileLoader"
    assert late_module.__spec__.loader is late_module.__loader__
    monkeypatch.delitem(sys.modules, "late_module")


def test_a_failing_hook_never_breaks_the_hosts_import(tmp_path, monkeypatch, caplog):
    (tmp_path / "fragile_module.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def explode(module):
        raise RuntimeError("instrumentor bug")

    when_imported("fragile_module", explode)
    import fragile_module

    assert fragile_module.X == 1
    assert "instrumenting fragile_module failed" in caplog.text
    monkeypatch.delitem(sys.modules, "fragile_module")


def test_a_cancelled_hook_does_not_run_and_the_finder_leaves_sys_meta_path(tmp_path, monkeypatch):
    (tmp_path / "quiet_module.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []
    cancel = when_imported("quiet_module", seen.append)
    cancel()
    import quiet_module  # noqa: F401

    assert seen == []
    assert not any(type(f).__name__ == "_PostImportFinder" for f in sys.meta_path)
    monkeypatch.delitem(sys.modules, "quiet_module")


def test_a_module_that_fails_to_import_keeps_its_hook_for_the_next_attempt(tmp_path, monkeypatch):
    path = tmp_path / "flaky_module.py"
    path.write_text("raise ImportError('not yet')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []
    cancel = when_imported("flaky_module", lambda m: seen.append(m.X))
    with pytest.raises(ImportError, match="not yet"):
        import flaky_module
    assert seen == []
    path.write_text("X = 2\n")
    importlib.invalidate_caches()
    import flaky_module  # noqa: F401

    assert seen == [2]
    cancel()
    monkeypatch.delitem(sys.modules, "flaky_module")


LLM_SDK_WAITS = """
    import json, sys
    import optel
    optel.instrument("openai", "click")
    import openai, click
    loaded_off = "wrapt" in sys.modules
    optel.init("waits", session_flag=True)
    from wrapt import FunctionWrapper
    patched_on = isinstance(vars(openai.resources.chat.completions.Completions)["create"], FunctionWrapper)
    print(json.dumps([loaded_off, patched_on]))
"""


def test_the_llm_sdk_patches_wait_for_recording_to_start(python):
    """Until consent says record, openai is not patched and wrapt not imported (a `--version`
    costs nothing); optel.init() deciding to record applies the patch."""
    loaded_off, patched_on = json.loads(run(python, LLM_SDK_WAITS))
    assert (loaded_off, patched_on) == (False, True)


def test_a_hook_on_a_namespace_package_runs_when_it_is_imported(python, tmp_path):
    # A package without __init__.py (mistralai 2.x): its finder gives its spec no loader.
    (tmp_path / "nspkg" / "sub").mkdir(parents=True)
    (tmp_path / "nspkg" / "sub" / "mod.py").write_text("VALUE = 1\n")
    out = run(
        python,
        """
        import json, sys
        from optel.instrumentation import when_imported
        seen = []
        when_imported("nspkg", lambda m: seen.append((m.__name__, list(m.__path__))))
        from nspkg.sub import mod
        print(json.dumps([seen, type(sys.modules["nspkg"].__spec__.loader).__name__, mod.VALUE]))
        """,
        PYTHONPATH=str(tmp_path),
    )
    seen, loader, value = json.loads(out)
    assert seen == [["nspkg", [str(tmp_path / "nspkg")]]]
    assert loader.lstrip("_") == "NamespaceLoader"  # ours was taken off again (private before 3.11)
    assert value == 1
