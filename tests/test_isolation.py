"""conftest.py's isolation: no CI or coding-agent variable of the environment that runs the suite
reaches a test, whichever marker optel.consent.detect reads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from optel.consent.detect import AGENT_MARKERS, AGENT_PREFIXES, CI_MARKERS, detect_agent, detect_ci


def test_no_test_sees_a_ci_or_agent_marker() -> None:
    assert (detect_ci(os.environ), detect_agent(os.environ)) == (None, None)


def test_a_suite_run_under_every_marker_at_once_still_sees_none() -> None:
    markers = [name for name, _ in CI_MARKERS + AGENT_MARKERS]
    markers += [f"{prefix}SANDBOX" for prefix, _ in AGENT_PREFIXES]
    env = {**os.environ, **dict.fromkeys(markers, "1")}
    here = Path(__file__).resolve()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly",
         f"{here}::test_no_test_sees_a_ci_or_agent_marker"],
        cwd=here.parent.parent, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
