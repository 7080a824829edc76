"""A third-party instrumentor (examples/instrumentor_example) found through its entry point.

The example's module is installed the way pip would leave it: its files and a dist-info
directory whose ``entry_points.txt`` says what its pyproject.toml declares, in a directory on the
path of a fresh interpreter. ``optel.instrument("theirlib")`` there, before theirlib is imported,
patches it on import through ``optel.instrumentation.patching``, and ``uninstrument`` undoes it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from optel.record.dictionary import METRICS

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "instrumentor_example"

HOST = """
import json, sys
sys.path.insert(0, sys.argv[1])
import optel, optel.testing

optel.instrument("theirlib")
assert "theirlib" not in sys.modules
import theirlib
original = vars(theirlib.Client)["fetch"]
with optel.testing.capture() as records:
    assert theirlib.Client().fetch("k") == "value of k"
optel.uninstrument("theirlib")
restored = vars(theirlib.Client)["fetch"] is original.__wrapped__
print(json.dumps({"records": records, "restored": restored}))
"""


def install_like_pip(target: Path) -> None:
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    for name in ("optel_theirlib.py", "theirlib.py"):
        shutil.copy(EXAMPLE / name, target / name)
    dist = target / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    groups = project["entry-points"]
    (dist / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items())
            for group, entries in groups.items()
        )
    )


def test_an_instrumentor_registered_by_entry_point_patches_its_library_on_import(tmp_path, python):
    install_like_pip(tmp_path)
    done = subprocess.run(
        [python, "-c", HOST, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    spans = [r for r in out["records"] if r["t"] == "span"]
    assert [(s["name"], s["attributes"]) for s in spans] == [
        ("theirlib.fetch", {"request.name": "theirlib.fetch"})
    ]
    # The duration metric of a timed request, whatever the data dictionary calls it.
    timed = [name for name, m in METRICS.items() if "request.name" in m.attributes]
    assert [r["name"] for r in out["records"] if r["t"] == "metric"] == timed
    assert out["restored"]
