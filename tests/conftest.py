"""Every test runs in its own home: no real config, cache or spool is read or written, and no
variable of the developer's or CI's environment (CI=true, DO_NOT_TRACK, OTEL_*) decides for it.
Hypothesis draws from a seed printed in the header, so that a failure in a CI log can be rerun."""

from __future__ import annotations

import os
import random
import signal
import sys
from typing import Any

import pytest
from hypothesis import settings

from optel.consent.detect import AGENT_MARKERS, AGENT_PREFIXES, CI_MARKERS, detect_ci

# A suite started in the background by a non-interactive shell inherits SIGINT ignored, and so would
# every subprocess a test starts: the tests of Ctrl-C and SIGINT need Python's own handler back.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Tests reach 127.0.0.1 only: litellm fetches its price list from the internet when imported
# unless told to use the copy it ships.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# The gRPC tests run their collector (grpcio) in this process. Where subprocess forks instead of
# vforking (3.9), gRPC's fork handlers then run in the child between fork and exec, and now and then
# write an epoll error line to the child's stderr, which the test reads as the host's. Without fork
# support gRPC installs no handlers. (optel itself starts the uploader with posix_spawn, which runs
# none, and its fallback gives the child /dev/null for stderr.)
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")

# The variables that tell optel it runs in CI or under a coding agent come from the module that
# reads them, so that a marker added there is cleared here too (one list, not a copy).
_CLEARED_PREFIXES = ("OTEL_", "OPTEL_", "XDG_", "ROTEL_", *(prefix for prefix, _ in AGENT_PREFIXES))
_CLEARED = {"DO_NOT_TRACK", *(name for name, _ in CI_MARKERS + AGENT_MARKERS)}


# Hypothesis' own "ci" profile (no deadline, no example database, the failing example's replay
# blob printed), but drawing from the seed in the header rather than a seed per test name, so
# that every CI run tries new examples and a failure reruns from the seed in its log.
settings.register_profile("optel-ci", settings.get_profile("ci"), derandomize=False)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Before Hypothesis' own plugin reads them: a fresh seed unless --hypothesis-seed gave one,
    and in CI (optel.consent.detect) the "optel-ci" profile unless --hypothesis-profile named one."""
    if config.getoption("hypothesis_seed") is None:
        config.option.hypothesis_seed = str(random.SystemRandom().randrange(2**32))
    if not config.getoption("hypothesis_profile"):
        config.option.hypothesis_profile = "optel-ci" if detect_ci(os.environ) else "default"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `rotel` the tests of modules that start a rotel collector (tests/rotel_process.py):
    no rotel release for Python 3.9 runs on a C library older than glibc 2.38 (Debian 12's is
    2.36), so CI's Python 3.9 run leaves them out with -m "not rotel". Mark `as_nobody` the tests
    that run this Python as user nobody: pyenv's builds, under /root (0700), load a libpython
    nobody cannot reach, so CI runs them on the default Python only."""
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and ("running_rotel" in vars(module) or "rotel" in module.__name__):
            item.add_marker(pytest.mark.rotel)
        if "as_nobody" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.as_nobody)


def pytest_report_header(config: pytest.Config) -> str:
    seed = config.getoption("hypothesis_seed")
    profile = config.getoption("hypothesis_profile")
    return f"hypothesis seed {seed}, profile {profile} (rerun with --hypothesis-seed={seed})"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    # Again at the end, where -q (which hides the header) shows it too.
    terminalreporter.write_line(pytest_report_header(config))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """A fresh HOME, config and cache dir per test, and an environment with no telemetry opinions."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name in _CLEARED or name.startswith(_CLEARED_PREFIXES) or "_TELEMETRY" in name:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.chdir(home)
    yield home


@pytest.fixture
def python() -> str:
    """The interpreter that runs the suite, for subprocess tests."""
    return sys.executable


@pytest.fixture(scope="module")
def api():
    """The fake OpenAI/Anthropic API (tests/fake_llm_api.py) on 127.0.0.1, one per test module."""
    from fake_llm_api import FakeLLMAPI

    with FakeLLMAPI() as server:
        yield server


@pytest.fixture
def as_nobody():
    """Run Python code as an unprivileged user (tests run as root, whom permissions do not stop),
    with a home of its own; returns its stdout. Without root, the code runs as the current user."""
    import shutil
    import subprocess
    import tempfile

    home = tempfile.mkdtemp(prefix="optel-nobody-")

    def run(code: str) -> str:
        prefix: list[str] = []
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            assert setpriv, "setpriv is needed to drop root's privileges"
            os.chown(home, 65534, 65534)
            prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
        env = {
            **os.environ,
            "HOME": home,
            "XDG_CONFIG_HOME": f"{home}/.config",
            "XDG_CACHE_HOME": f"{home}/.cache",
        }
        proc = subprocess.run(
            [*prefix, sys.executable, "-c", code], cwd=home, env=env,
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    yield run
    shutil.rmtree(home, ignore_errors=True)
