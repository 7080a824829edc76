"""The module map in docs/internals.md is generated from the modules' docstrings and is current."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from optel import _modmap

PAGE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "internals.md"


def test_every_module_of_optel_has_a_docstring():
    # The map is how a newcomer finds where code belongs: each module says its one job.
    _modmap.modules()  # raises MissingDocstring naming each module without one


def test_docs_internals_module_map_is_current():
    fresh = _modmap.render(PAGE.read_text(encoding="utf-8"))
    assert fresh == PAGE.read_text(encoding="utf-8"), (
        "docs/internals.md's module map is stale: run `python -m optel._modmap docs/internals.md`"
    )


def _package(tmp_path: pathlib.Path, modules: dict[str, str]) -> pathlib.Path:
    package = tmp_path / "pkg"
    for name, text in modules.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text, encoding="utf-8")
    return package


def test_the_map_has_one_line_per_module_with_its_first_sentence(tmp_path):
    package = _package(
        tmp_path,
        {
            "__init__.py": '"""The package."""\n',
            "sub/wrapped.py": '"""A first line that wraps\nonto a second one.\n\nDetails."""\n',
            "sub/__init__.py": '"""Sub: its job.\nMore."""\n',
        },
    )
    page = f"# Page\n\n{_modmap.BEGIN}\nold\n{_modmap.END}\nafter\n"
    assert _modmap.render(page, package).splitlines() == [
        "# Page",
        "",
        _modmap.BEGIN,
        "",
        "- `pkg/__init__.py`: The package.",
        "- `pkg/sub/__init__.py`: Sub: its job.",
        "- `pkg/sub/wrapped.py`: A first line that wraps onto a second one.",
        "",
        _modmap.END,
        "after",
    ]


def test_a_module_without_a_docstring_is_named(tmp_path):
    package = _package(tmp_path, {"__init__.py": '"""Fine."""\n', "bare.py": "X = 1\n"})
    with pytest.raises(_modmap.MissingDocstring, match=r"pkg/bare\.py"):
        _modmap.modules(package)


def test_check_fails_on_a_stale_map_and_writing_fixes_it(tmp_path):
    page = tmp_path / "internals.md"
    page.write_text(f"# Internals\n{_modmap.BEGIN}\n- stale\n{_modmap.END}\n", encoding="utf-8")
    command = [sys.executable, "-m", "optel._modmap"]
    stale = subprocess.run([*command, "--check", str(page)], capture_output=True, text=True)
    assert stale.returncode == 1 and "stale" in stale.stderr
    subprocess.run([*command, str(page)], check=True)
    assert "- `optel/_modmap.py`: " in page.read_text(encoding="utf-8")
    assert subprocess.run([*command, "--check", str(page)]).returncode == 0
