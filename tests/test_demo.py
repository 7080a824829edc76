"""`optel demo`: the example tool's telemetry goes all the way to a local receiver, offline, and the
user's own configuration is never read or written."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], str]:
    home = tmp_path_factory.mktemp("demo-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "XDG_"))}
    # The user's own settings say no: the demo must neither obey nor change them.
    env.update(
        HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache")
    )
    env.update(DO_NOT_TRACK="1", CI="true")
    # Run from a cloned repository's directory: what the demo starts must import nothing from it.
    repo = home / "repo"
    for module in ("optel/__init__.py", "optel/__main__.py", "argparse.py", "json.py"):
        (repo / module).parent.mkdir(parents=True, exist_ok=True)
        (repo / module).write_text(
            f"open({str(home / 'imported-from-cwd')!r}, 'a').write({module!r} + '\\n')\n"
        )
    # The console script, as a user runs it (`python -m optel` would import the cwd's `optel/` itself).
    optel = os.path.join(os.path.dirname(sys.executable), "optel")
    done = subprocess.run(
        [optel, "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd=repo,
    )
    return done, str(home)


def test_demo_imports_nothing_from_the_working_directory(demo) -> None:
    _, home = demo
    assert not os.path.exists(os.path.join(home, "imported-from-cwd"))


def test_demo_exits_zero_and_prints_what_arrived(demo) -> None:
    done, _ = demo
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for expected in (
        "Spans (",
        "build",
        "plan",
        "chat gpt-4o-mini",
        "chat claude-3-5-sonnet-20241022",
        "fetch-docs",
        "Metrics (",
        "gen_ai.client.token.usage",
        "optel.cli.user.inputs",
        "optel.cli.errors {error.type=RuntimeError}",
        "Resource attributes:",
        "service.name = optel-demo",
    ):
        assert expected in out, expected


def test_demo_shows_the_failure_scrubbed(demo) -> None:
    done, _ = demo
    assert "ERROR" in done.stdout
    assert "tests failed in <path> with OPENAI_API_KEY=<secret>" in done.stdout
    assert "sk-proj" not in done.stdout
    assert "acme/tests" not in done.stdout


def test_demo_leaves_the_users_own_config_and_cache_alone(demo) -> None:
    _, home = demo
    assert not os.path.exists(os.path.join(home, "config"))
    assert not os.path.exists(os.path.join(home, "cache"))
