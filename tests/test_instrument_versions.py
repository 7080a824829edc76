"""Each built-in instrumentor declares the SDK releases it patches; `optel status` names an
installed SDK outside them instead of the instrumentor patching nothing without a word."""

from __future__ import annotations

import os
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest

from optel.instrumentation import BUILTIN
from optel.instrumentation.versions import Mismatch, Supported, declared, mismatches


@pytest.mark.parametrize(
    ("installed", "admitted"),
    [
        ("1.0", True),
        ("1.0.0", True),
        ("3.99.1", True),
        ("4", False),
        ("4.0.0rc1", False),
        ("0.9.9", False),
        ("v2.1", True),
        ("", False),
        ("unknown", False),
    ],
)
def test_a_range_admits_from_its_first_release_up_to_the_next_it_names(
    installed: str, admitted: bool
) -> None:
    assert Supported("openai", "1.0", "4").admits(installed) is admitted


def test_every_builtin_instrumentor_declares_a_range_that_holds_the_sdk_it_is_tested_with() -> None:
    ranges = declared()
    assert set(ranges) == set(BUILTIN)
    assert ranges["argparse"] is None  # the standard library
    for name, supported in ranges.items():
        if supported is not None:
            installed = version(
                supported.distribution
            )  # a test extra: installed wherever tests run
            assert supported.admits(installed), (name, installed, str(supported))
    assert mismatches() == []


def fake_distribution(root: Path, name: str, release: str) -> None:
    """A distribution as pip leaves it, reduced to the metadata that names its version."""
    info = root / f"{name}-{release}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {release}\n")


def status(python: str, pythonpath: Path | None = None) -> str:
    env = {"PYTHONPATH": str(pythonpath)} if pythonpath else {}
    done = subprocess.run(
        [python, "-m", "optel", "--app", "versions-tool", "status"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_optel_status_names_an_installed_sdk_outside_its_instrumentors_range(
    python: str, tmp_path: Path
) -> None:
    assert "sdk:" not in status(python)
    fake_distribution(tmp_path, "openai", "9.1.0")
    fake_distribution(tmp_path, "anthropic", "0.2.0")
    lines = [line for line in status(python, tmp_path).splitlines() if line.startswith("sdk:")]
    assert lines == [
        "sdk: openai 9.1.0 is outside the releases optel's openai instrumentor patches "
        "(openai>=1.0,<4): its calls may go unrecorded",
        "sdk: anthropic 0.2.0 is outside the releases optel's anthropic instrumentor patches "
        "(anthropic>=0.30,<3): its calls may go unrecorded",
    ]


def test_a_mismatch_reads_as_what_to_do_about_it() -> None:
    text = str(Mismatch("bedrock", "2.0.1", Supported("botocore", "1.34", "2")))
    assert text.startswith("botocore 2.0.1 is outside") and "(botocore>=1.34,<2)" in text
