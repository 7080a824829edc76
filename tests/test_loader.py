"""optel._loader: optel's modules load from their current bytecode cache, and from their source
whenever that cache is missing, stale, of another kind or unreadable, exactly as the standard
import system would; nothing outside optel's own directories passes through it.

Each test runs fresh Python processes on a copy of the package, so that its sources and caches
can be edited as a developer (or a broken disk) would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import optel

SOURCE = Path(optel.__file__).parent

SHOW = """
import sys, json, inspect, pkgutil
import optel, optel._env, optel.record.names
mod = sys.modules["optel._env"]
print(json.dumps({
    "loader": type(mod.__loader__).__name__,
    "spec_loader": type(mod.__spec__.loader).__name__,
    "cached": mod.__cached__,
    "file": mod.__file__,
    "marker": getattr(mod, "MARKER", None),
    "package_loader": type(sys.modules["optel.record"].__loader__).__name__,
    "package_path": list(sys.modules["optel.record"].__path__),
    "names_loader": type(sys.modules["optel.record.names"].__loader__).__name__,
    "source_line": inspect.getsource(mod).splitlines()[0],
    "submodules": sorted(m.name for m in pkgutil.iter_modules(optel.__path__)),
}))
"""


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A copy of optel's package, without caches, importable from the returned directory."""
    root = tmp_path / "site"
    shutil.copytree(SOURCE, root / "optel", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _python(
    import_root: Path, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A fresh `python ARGV` that imports optel from `import_root` (no other PYTHON* variable)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    environment.update(env or {})
    environment["PYTHONPATH"] = str(import_root)
    return subprocess.run(
        [sys.executable, *argv], env=environment, capture_output=True, text=True, timeout=60
    )


def _run(root: Path, *flags: str, env: dict[str, str] | None = None, code: str = SHOW) -> dict:
    import json

    done = _python(root, *flags, "-c", code, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _edit(path: Path, text: str) -> None:
    """Append to a source so that both its size and its mtime change, as an editor's save does."""
    before = path.stat()
    path.write_text(path.read_text() + text)
    os.utime(path, (before.st_atime, before.st_mtime + 2))


def test_a_cached_module_loads_from_its_cache_with_the_standard_attributes(package: Path) -> None:
    first = _run(package)  # no caches yet: the standard way, which writes them
    assert first["loader"] == "SourceFileLoader"
    second = _run(package)
    assert (second["loader"], second["spec_loader"]) == ("_CachedLoader", "_CachedLoader")
    assert second["package_loader"] == second["names_loader"] == "_CachedLoader"
    assert second["file"] == str(package / "optel" / "_env.py")
    assert second["cached"] == first["cached"]
    assert second["cached"].endswith(f"__pycache__/_env.{sys.implementation.cache_tag}.pyc")
    assert second["package_path"] == [str(package / "optel" / "record")]
    assert second["source_line"].startswith('"""')
    # pkgutil sees a FileFinder and lists the package as before.
    assert {"_env", "_runtime", "consent", "record", "spool"} <= set(second["submodules"])


def test_an_edited_source_is_loaded_not_its_stale_cache(package: Path) -> None:
    _run(package)
    assert _run(package)["marker"] is None
    _edit(package / "optel" / "_env.py", "\nMARKER = 'edited'\n")
    assert _run(package)["marker"] == "edited"
    after = _run(package)  # the standard way rewrote the cache: fast again, and current
    assert (after["loader"], after["marker"]) == ("_CachedLoader", "edited")


def test_a_same_size_edit_with_a_new_mtime_is_loaded(package: Path) -> None:
    _run(package)
    path = package / "optel" / "_env.py"
    text = path.read_text()
    path.write_text(text + "\nMARKER = 'one'\n")
    _run(package)
    status = path.stat()
    path.write_text(text + "\nMARKER = 'two'\n")
    os.utime(path, (status.st_atime, status.st_mtime + 5))
    assert _run(package)["marker"] == "two"


def test_a_reloaded_module_is_read_again_from_its_edited_source(package: Path) -> None:
    _run(package)
    path = package / "optel" / "_env.py"
    code = (
        "import importlib, json, os, sys, optel._env as env\n"
        "path = sys.argv[1]\n"
        "status = os.stat(path)\n"
        "with open(path, 'a') as f: f.write('\\nMARKER = 7\\n')\n"
        "os.utime(path, (status.st_atime, status.st_mtime + 3))\n"
        "importlib.reload(env)\n"
        "print(json.dumps({'marker': env.MARKER}))\n"
    )
    done = _python(package, "-c", code, str(path))
    assert (done.returncode, done.stderr, done.stdout) == (0, "", '{"marker": 7}\n')


def test_a_truncated_cache_falls_back_to_the_source(package: Path) -> None:
    first = _run(package)
    cache = Path(first["cached"])
    cache.write_bytes(cache.read_bytes()[:40])  # a header that matches, then half a code object
    shown = _run(package)
    assert shown["file"] == str(package / "optel" / "_env.py")
    assert shown["source_line"].startswith('"""')


def test_without_caches_and_without_writing_them_every_module_loads(package: Path) -> None:
    shown = _run(package, env={"PYTHONDONTWRITEBYTECODE": "1"})
    assert shown["loader"] == "SourceFileLoader"
    assert not (package / "optel" / "__pycache__").exists()


def test_optimised_runs_use_their_own_caches(package: Path) -> None:
    _run(package, "-O")
    shown = _run(package, "-O")
    assert shown["loader"] == "_CachedLoader"
    assert shown["cached"].endswith(".opt-1.pyc")
    plain = _run(package)  # -O caches are never read for a plain run
    assert not plain["cached"].endswith(".opt-1.pyc")


def test_a_pycache_prefix_is_left_to_the_standard_loader(package: Path, tmp_path: Path) -> None:
    env = {"PYTHONPYCACHEPREFIX": str(tmp_path / "prefix")}
    _run(package, env=env)
    shown = _run(package, env=env)
    assert shown["loader"] == "SourceFileLoader"
    assert shown["cached"].startswith(str(tmp_path / "prefix"))


def test_hash_based_caches_are_left_to_the_standard_loader(package: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "--invalidation-mode",
            "checked-hash",
            str(package / "optel"),
        ],
        check=True,
    )
    assert _run(package)["loader"] == "SourceFileLoader"
    _edit(package / "optel" / "_env.py", "\nMARKER = 'hashed'\n")
    assert _run(package)["marker"] == "hashed"


def test_a_zip_install_keeps_zipimport(package: Path, tmp_path: Path) -> None:
    archive = tmp_path / "optel.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in (package / "optel").rglob("*.py"):
            zipped.write(path, path.relative_to(package).as_posix())
    code = (
        "import sys, optel, optel._env, optel.record.names\n"
        "print(type(sys.modules['optel.record.names'].__loader__).__name__)\n"
    )
    done = _python(archive, "-c", code)
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "zipimporter\n")


def test_the_hosts_own_imports_never_pass_through_it(package: Path, tmp_path: Path) -> None:
    (tmp_path / "hostpkg").mkdir()
    (tmp_path / "hostpkg" / "__init__.py").write_text("")
    (tmp_path / "hostpkg" / "mod.py").write_text("X = 1\n")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import optel, hostpkg.mod, json\n"
        "kinds = {k: type(v).__name__ for k, v in sys.path_importer_cache.items()}\n"
        "print(json.dumps({'loader': type(hostpkg.mod.__loader__).__name__, 'kinds': kinds}))\n"
    )
    for _ in range(2):
        done = _python(package, "-c", code, str(tmp_path))
        assert done.returncode == 0, done.stderr
    import json

    shown = json.loads(done.stdout)
    assert shown["loader"] == "SourceFileLoader"
    mine = {path for path, kind in shown["kinds"].items() if kind == "_Finder"}
    assert mine and all(Path(path).is_relative_to(package / "optel") for path in mine)


def test_no_module_of_optel_shares_its_name_with_a_package_beside_it() -> None:
    # The loader tries `name.py` before `name/__init__.py`; the standard finder prefers the package.
    for directory in [SOURCE, *(p for p in SOURCE.rglob("*") if p.is_dir())]:
        modules = {p.stem for p in directory.glob("*.py")}
        packages = {p.name for p in directory.iterdir() if (p / "__init__.py").exists()}
        assert not modules & packages, directory
