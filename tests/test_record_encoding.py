"""A string that cannot be written as UTF-8 (a lone surrogate from a non-UTF-8 file name) is
repaired when the record is made: the run's data is sent, and no spool file is quarantined."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from optel import _paths
from optel.privacy.exceptions import encodable
from otlp_receiver import OTLPReceiver
from test_provider_errors_e2e import spool_settles

APP = "utf8-host"
HOST = r"""
import os
import sys

import optel

optel.init("utf8-host", version="1.0.0", endpoint=sys.argv[1], session_flag=True, attributes=("detail",))
# What os.listdir() or sys.argv give for a file name that is not UTF-8: lone surrogates.
name = os.fsdecode(b"report-\xff\xfe.csv")


@optel.step("load " + name)
def load():
    optel.event("file.opened", detail=name)
    raise ValueError(f"cannot parse {name}: bad header")


@optel.command()
def convert():
    load()


try:
    convert()
except ValueError:
    pass
print("done")
"""


def test_a_non_utf8_file_name_in_names_attributes_and_messages_still_reaches_the_receiver(
    tmp_path: Path, python: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "OPTEL_UPLOAD_INTERVAL", "0"
    )  # the run's own uploader delivers (docs/internals.md#the-delivery-policy)
    script = tmp_path / "host.py"
    script.write_text(HOST)
    with OTLPReceiver() as backend:
        result = subprocess.run(
            [python, str(script), backend.url],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ),
        )
        assert (result.returncode, result.stdout, result.stderr) == (0, "done\n", "")
        # The host exits at once; its detached uploader delivers in the background.
        assert backend.wait_for(lambda r: {"convert"} <= {s["name"] for s in r.spans()}, timeout=30)
    spans = {s["name"]: s for s in backend.spans()}
    step = spans["load report-\ufffd\ufffd.csv"]
    assert step["status"] == "error"
    assert step["status_message"] == "cannot parse report-\ufffd\ufffd.csv: bad header"
    (opened,) = [e for e in step["events"] if e["name"] == "file.opened"]
    assert opened["attributes"]["detail"] == "report-\ufffd\ufffd.csv"
    assert spans["convert"]["attributes"]["error.type"] == "ValueError"
    assert spool_settles(Path(_paths.spool_dir(APP)))


def test_ascii_and_valid_text_are_returned_as_they_are() -> None:
    for text in ("plain", "héllo wörld", "emoji \U0001f600", ""):
        assert encodable(text) is text
    assert encodable("a\udcffb\ud800") == "a\ufffdb\ufffd"


def test_a_surrogate_pair_left_unjoined_is_two_replacements() -> None:
    # json.loads("\"\\ud83d\\ude00\"") joins the pair; a str built by hand does not.
    assert encodable("\ud83d\ude00") == "\ufffd\ufffd"
