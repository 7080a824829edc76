"""Developer tasks: `.ci/run` runs `nox -s tests lint typecheck collector`, then the quick suite on
the oldest and newest Python (`nox -s "tests_on-3.9" "tests_on-3.13" -- -m "not slow"`)."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "collector"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"

# Every Python that pyproject.toml's requires-python (>=3.9) claims, up to the newest released.
PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, against the package installed as a user would install it."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHONS)
def tests_on(session: nox.Session) -> None:
    """The suite on one Python of requires-python: `nox -s tests_on-3.9`, or all with `-s tests_on`."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint, import order and formatting."""
    session.install("ruff")
    paths = ("src", "tests", "benchmarks", "examples", "collector", "noxfile.py")
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy, strict on src/."""
    # The optional libraries optel patches or embeds in are typed: check against them.
    session.install("-e", ".[test]", "mypy", "types-PyYAML")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmarks: each prints medians and ratios measured side by side in one run."""
    session.install("-e", ".[test]")
    import pathlib

    for script in sorted(pathlib.Path("benchmarks").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)


@nox.session
def collector(session: nox.Session) -> None:
    """The collector configs: references, pinned contrib component types, exposure, placeholders, secrets."""
    session.install("pyyaml", "tomli; python_version < '3.11'")
    import pathlib

    configs = sorted(str(p) for p in pathlib.Path("collector").glob("*.yaml"))
    session.run("python", "collector/validate.py", *configs)


@nox.session
def docs(session: nox.Session) -> None:
    """Regenerate the generated docs: the data dictionary and its allow-list, the module map (tests fail when stale)."""
    session.install("-e", ".")
    session.run("python", "-m", "optel.record.dictionary", "docs/telemetry-data.md")
    session.run("python", "-m", "optel.record.allowlist", "src/optel/record/clean.py")
    session.run("python", "-m", "optel._modmap", "docs/internals.md")


@nox.session
def demo(session: nox.Session) -> None:
    """`optel demo`: an example LLM tool, instrumented end to end, offline, with a summary of what arrived."""
    session.install("-e", ".")
    session.run("optel", "demo", *session.posargs)
