"""The guide's first examples run as written: `init()` and every way of recording it shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "guide.md"


def test_the_guides_init_and_recording_examples_run_as_written(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)
    # "Set up" and "Record what matters"; the collector in them is ours on loopback, never reached.
    code = "\n".join(blocks[:2]).replace("https://telemetry.example.com", "http://127.0.0.1:9")
    assert "optel.init(" in code and "optel.metric(" in code
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")
