"""conftest.py: no CI or coding-agent variable of the environment that runs the suite reaches a
test, whichever marker optel.consent.detect reads; Hypothesis' seed is in the header, and reruns."""

from __future__ import annotations

import os
import re
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


def test_hypothesis_draws(tmp_path_factory) -> None:
    """Writes what Hypothesis draws where SUITE_SETUP_DRAWS says (the test below reads it)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    drawn: list[int] = []

    @settings(max_examples=20, database=None)
    @given(st.integers())
    def draw(n: int) -> None:
        drawn.append(n)

    draw()
    out = os.environ.get("SUITE_SETUP_DRAWS")
    if out:
        Path(out).write_text(repr(drawn))


def test_in_ci_the_header_prints_the_hypothesis_seed_and_that_seed_draws_the_same(
    tmp_path: Path,
) -> None:
    here = Path(__file__).resolve()

    def run(*args: str) -> tuple[str, str]:
        draws = tmp_path / "draws"
        env = {**os.environ, "CI": "true", "SUITE_SETUP_DRAWS": str(draws)}
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *args,
             f"{here}::test_hypothesis_draws"],
            cwd=here.parent.parent, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        return done.stdout, draws.read_text()

    first_log, first = run()
    header = re.search(
        r"hypothesis seed (\d+), profile optel-ci \(rerun with --hypothesis-seed=\1\)", first_log
    )
    assert header, first_log
    again_log, again = run(f"--hypothesis-seed={header.group(1)}")
    assert again == first
    assert f"hypothesis seed {header.group(1)}, profile optel-ci" in again_log
    _, other = run()
    assert other != first, "a run without --hypothesis-seed draws from a fresh seed"
