"""The delivery policy (issue 19): a host starts an uploader only when the spool is due.

Real host processes against a real OTLP receiver on 127.0.0.1: a run whose spool holds only fresh
data starts no uploader and leaves its flush on disk; the first run after the oldest flush is
`DELIVERY_INTERVAL_S` old (or once the spool holds `DUE_BYTES`) starts one, which sends every
run's data once. `optel upload` sends at once whatever the policy says. A run leaves nothing in
the config dir when the user's choice does not change.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from host_process import drain, receiver_for, settle
from optel.spool import (
    DELIVERY_INTERVAL_S,
    DUE_BYTES,
    INTERVAL_ENV,
    WORST_CASE_DELAY_S,
    Spool,
    delivery_due,
    delivery_interval,
)
from optel.spool.state import BACKOFF_CAP_S
from optel.spool.writer import destination

APP = "policy-test"
posix_only = pytest.mark.skipif(os.name != "posix", reason="posix_spawn and /proc")

HOST = """\
import sys
import optel
optel.init({app!r}, endpoint=sys.argv[1], version="1.0.0")

@optel.command()
def hello():
    return 42

hello()
"""


def hellos(receiver: object) -> list[str]:
    """Span ids of the runs' `hello` commands the receiver got."""
    return [span["span_id"] for span in receiver.spans() if "hello" in span["name"]]  # type: ignore[attr-defined]


def run_host(script: Path, endpoint: str) -> None:
    done = subprocess.run(
        [sys.executable, str(script), endpoint], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def age_spool(seconds: float) -> None:
    """Make every flush `seconds` older: its name carries its creation time, as the policy reads it."""
    directory = Spool(APP).path
    for name in os.listdir(directory):
        if ".jsonl" in name and not name.endswith(".tmp"):
            stamp, rest = name.split("-", 1)
            older = f"{int(stamp) - int(seconds * 1e9)}-{rest}"
            os.rename(os.path.join(directory, name), os.path.join(directory, older))


def no_uploader_for(seconds: float) -> bool:
    """Whether no uploader took the lock during `seconds` (a spawned one takes it before it starts)."""
    lock = Path(Spool(APP).path) / "uploader.lock"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if lock.exists():
            return False
        time.sleep(0.02)
    return True


@posix_only
def test_fresh_data_waits_and_the_first_run_past_the_interval_sends_everything_once(
    isolated_home: Path, tmp_path: Path
) -> None:
    script = tmp_path / "host.py"
    script.write_text(HOST.format(app=APP))
    spool = Spool(APP)
    with receiver_for(APP, isolated_home) as receiver:
        for _ in range(3):
            run_host(script, receiver.url)
            assert no_uploader_for(0.5), (
                "a run with only fresh data in the spool started an uploader"
            )
        assert len(spool.files()) == 3 and receiver.spans() == []

        age_spool(DELIVERY_INTERVAL_S + 1)
        run_host(script, receiver.url)
        assert receiver.wait_for(lambda r: not spool.files() and len(hellos(r)) == 4, timeout=30), (
            spool.files()
        )
        settle(spool)
        time.sleep(0.3)
        ids = hellos(receiver)
        assert len(ids) == len(set(ids)) == 4


@posix_only
def test_a_spool_over_the_size_rule_is_due_at_once(isolated_home: Path, tmp_path: Path) -> None:
    script = tmp_path / "host.py"
    script.write_text(HOST.format(app=APP))
    spool = Spool(APP)
    with receiver_for(APP, isolated_home) as receiver:
        run_host(script, receiver.url)
        assert no_uploader_for(0.3)
        # What the tally would say after many runs' worth of flushes (their bytes, not their age).
        checked, _, oldest = spool._read_tally() or (0, 0, 0)
        spool._write_tally(checked, DUE_BYTES, oldest)
        assert delivery_due(spool)
        run_host(script, receiver.url)
        assert receiver.wait_for(lambda r: len(hellos(r)) == 2, timeout=30)
        settle(spool)
        # The uploader forgot the tally: the bytes it sent no longer make the next run due.
        assert not delivery_due(spool)


@posix_only
def test_optel_upload_sends_fresh_data_at_once(isolated_home: Path, tmp_path: Path) -> None:
    script = tmp_path / "host.py"
    script.write_text(HOST.format(app=APP))
    with receiver_for(APP, isolated_home) as receiver:
        run_host(script, receiver.url)
        assert no_uploader_for(0.3) and receiver.spans() == []
        drain(APP, dict(os.environ))  # `optel upload`
        assert len(hellos(receiver)) == 1


@posix_only
def test_an_interval_of_zero_starts_an_uploader_at_every_run(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(INTERVAL_ENV, "0")
    script = tmp_path / "host.py"
    script.write_text(HOST.format(app=APP))
    spool = Spool(APP)
    with receiver_for(APP, isolated_home) as receiver:
        run_host(script, receiver.url)
        assert receiver.wait_for(lambda r: not spool.files() and len(hellos(r)) == 1, timeout=30)


def test_the_interval_setting_takes_only_sane_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    for text, expected in (
        ("", DELIVERY_INTERVAL_S),
        ("0", 0.0),
        ("90.5", 90.5),
        ("-1", DELIVERY_INTERVAL_S),
        ("nan", DELIVERY_INTERVAL_S),
        ("inf", DELIVERY_INTERVAL_S),
        ("soon", DELIVERY_INTERVAL_S),
    ):
        monkeypatch.setenv(INTERVAL_ENV, text)
        assert delivery_interval() == expected, text


def test_a_flush_stamped_far_ahead_is_due(isolated_home: Path) -> None:
    # The clock was set back since it was written: waiting for the clock to catch up could take years.
    spool = Spool(APP)
    future = time.time_ns() + 3 * 24 * 3600 * 10**9
    assert delivery_due(spool, [f"{future}-123-abcdef01.jsonl"])
    soon = time.time_ns() + 3600 * 10**9
    assert not delivery_due(spool, [f"{soon}-123-abcdef01.jsonl"])
    assert not delivery_due(spool, ["tally", "uploader.lock"])


@posix_only
def test_a_run_leaves_nothing_in_the_config_dir(isolated_home: Path, tmp_path: Path) -> None:
    script = tmp_path / "host.py"
    script.write_text(HOST.format(app=APP))
    config = isolated_home / ".config" / APP
    with receiver_for(APP, isolated_home) as receiver:
        # A stored choice without an install id: the first run adds the id (once), nothing else.
        (config / "telemetry.toml").write_text(
            'mode = "anonymous"\ndecided_at = "2026-11-23T18:00:00Z"\nconsent_version = 1\n'
        )
        run_host(script, receiver.url)
        assert sorted(os.listdir(config)) == ["telemetry.toml"]
        assert "install_id" in (config / "telemetry.toml").read_text()
        before = (config / "telemetry.toml").stat()
        run_host(script, receiver.url)
        assert sorted(os.listdir(config)) == ["telemetry.toml"]
        after = (config / "telemetry.toml").stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@pytest.mark.parametrize("host_gc", ["on", "off"])
def test_the_exit_flush_leaves_the_hosts_gc_as_it_found_it(
    isolated_home: Path, tmp_path: Path, host_gc: str
) -> None:
    # The exit flush pauses the cyclic GC (it would collect the host's heap to free what exit frees).
    script = tmp_path / "host.py"
    script.write_text(
        HOST.format(app=APP)
        + f"import gc\n{'gc.disable()' if host_gc == 'off' else ''}\noptel.shutdown()\nprint(gc.isenabled())\n"
    )
    with receiver_for(APP, isolated_home) as receiver:
        done = subprocess.run(
            [sys.executable, str(script), receiver.url], capture_output=True, text=True, timeout=60
        )
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{host_gc == 'on'}\n", "")
    assert len(Spool(APP).files()) == 1


EXIT_PROBE = """\
import atexit, os, sys
import optel

listed = []
def report():
    # Registered before init: runs after optel's own exit flush.
    loaded = sorted(m for m in sys.modules if m.startswith("optel.spool."))
    print(" ".join(loaded))
    print(len(listed))
atexit.register(report)
optel.init({app!r}, endpoint=sys.argv[1], version="1.0.0")

@optel.command()
def hello():
    return 42

hello()
real_listdir = os.listdir
def counting_listdir(path="."):
    listed.append(path)
    return real_listdir(path)
os.listdir = counting_listdir  # from here on: the exit flush only
"""


@posix_only
def test_a_run_with_nothing_due_writes_its_flush_and_looks_at_nothing_else(
    isolated_home: Path, tmp_path: Path
) -> None:
    # Issue 19: the exit path of a run with nothing due is the write alone: no directory scan,
    # and neither the launcher, the lock, the spawn, the uploader's claims, state and bounds,
    # nor the reader of flush files are imported.
    script = tmp_path / "host.py"
    script.write_text(EXIT_PROBE.format(app=APP))
    spool = Spool(APP)
    with receiver_for(APP, isolated_home) as receiver:
        for _ in range(2):  # the first run creates the spool, the second finds fresh data there
            done = subprocess.run(
                [sys.executable, str(script), receiver.url], capture_output=True, text=True
            )
            assert (done.returncode, done.stderr) == (0, "")
        loaded, listed = done.stdout.split("\n")[:2]
        assert len(spool.files()) == 2 and no_uploader_for(0.3)
    modules = set(loaded.split())
    assert "optel.spool.writer" in modules, "the flush was written"
    assert not modules & {
        "optel.spool.bounds",
        "optel.spool.format",
        "optel.spool.look",
        "optel.spool.state",
        "optel.spool.launch",
        "optel.spool.lock",
        "optel.spool.process",
        "optel.spool.claims",
        "optel.spool.files",
    }, modules
    assert listed == "0", "the exit flush listed the spool directory"


def run_probe(script: Path, endpoint: str) -> tuple[set[str], str]:
    """One run of EXIT_PROBE: the optel.spool modules it loaded, and how often its exit listed."""
    done = subprocess.run([sys.executable, str(script), endpoint], capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (0, "")
    loaded, listed = done.stdout.split("\n")[:2]
    return set(loaded.split()), listed


def shift_tally(seconds: float) -> None:
    spool = Spool(APP)
    checked, total, oldest = spool._read_tally() or (0, 0, 0)
    ns = int(seconds * 1e9)
    spool._write_tally(checked - ns, total, oldest - ns if oldest else 0)


LAUNCHER = {"optel.spool.launch", "optel.spool.lock", "optel.spool.process", "optel.spool.files"}


@posix_only
def test_a_run_a_quarter_hour_after_the_last_trusts_the_tally(
    isolated_home: Path, tmp_path: Path
) -> None:
    # Issue 19: a CLI run every 15 minutes found a 10-minute-old tally stale at every exit and
    # looked at every file. Writers add to it, the bounds are checked against it, uploaders
    # forget it: it is trusted across the gap between runs.
    script = tmp_path / "host.py"
    script.write_text(EXIT_PROBE.format(app=APP))
    with receiver_for(APP, isolated_home) as receiver:
        run_probe(script, receiver.url)
        age_spool(15 * 60)
        shift_tally(15 * 60)
        modules, listed = run_probe(script, receiver.url)
        assert no_uploader_for(0.3)
    assert len(Spool(APP).files()) == 2 and not modules & LAUNCHER, modules
    assert listed == "0", "the exit flush listed the spool directory"


@posix_only
def test_a_due_run_during_a_backoff_imports_no_launcher(
    isolated_home: Path, tmp_path: Path
) -> None:
    # Issue 19: while the collector is down, every run is due for hours; the backoff's small read
    # decides, at init and at exit, before the launcher, the uploader's spool state or init's
    # leftover handling is imported.
    script = tmp_path / "host.py"
    script.write_text(EXIT_PROBE.format(app=APP))
    spool = Spool(APP)
    with receiver_for(APP, isolated_home) as receiver:
        run_probe(script, receiver.url)
        age_spool(DELIVERY_INTERVAL_S + 1)
        (claim,) = spool.claim()  # its header's destination, as the uploader reads it
        where = destination(claim.read()[0].get("export"))
        spool.release(claim)
        spool.record_failure(destination=where)
        spool.set_backoff(spool.backoff_until(where), 1)  # the uploader's spool-wide one
        assert delivery_due(spool)
        modules, _ = run_probe(script, receiver.url)
        assert no_uploader_for(0.3) and receiver.spans() == []
    assert len(spool.files()) == 2 and not modules & LAUNCHER, modules
    assert not modules & {"optel.spool.state", "optel._leftovers"}, modules


def test_the_guide_states_the_delays_the_policy_gives() -> None:
    # One source per fact: the guide's delivery section cites the constants it states.
    guide = (Path(__file__).resolve().parent.parent / "docs" / "guide.md").read_text()
    section = guide[guide.index("**How late the data is**") :]
    section = section[: section.index("\n#")]

    def hours(constant: str) -> float:
        text = section.replace("\n", " ")
        at = text.index(f"`{constant}`")
        before = text[max(0, at - 120) : at]

        found = re.findall(r"(\d+(?:\.\d+)?) hours", before)
        assert found, f"no hours stated before {constant}"
        return float(found[-1]) * 3600

    assert hours("DELIVERY_INTERVAL_S") == DELIVERY_INTERVAL_S
    assert hours("WORST_CASE_DELAY_S") == WORST_CASE_DELAY_S
    assert hours("BACKOFF_CAP_S") == BACKOFF_CAP_S
    assert f"{DUE_BYTES // 1024} KiB (`DUE_BYTES`)" in section.replace("\n", " ")


INIT_THEN_EXIT = """\
import os, sys, time
import optel
optel.init({app!r}, endpoint=sys.argv[1], version="1.0.0")
# Leave without any flush once init's uploader has claimed what earlier runs left.
deadline = time.time() + 20
while time.time() < deadline and not any(".claimed." in n for n in os.listdir({spool!r})):
    time.sleep(0.01)
os._exit(0)
"""


@posix_only
def test_init_delivers_what_earlier_runs_left_once_due_though_the_run_never_flushes(
    isolated_home: Path, tmp_path: Path
) -> None:
    # What init's look at the spool is for (issue 19 made it cheaper, not optional): a run that
    # dies before its exit flush, or a service whose first flush is far off, still sends the data
    # of the runs before it once that is due.
    script, probe = tmp_path / "host.py", tmp_path / "init_only.py"
    script.write_text(HOST.format(app=APP))
    spool = Spool(APP)
    probe.write_text(INIT_THEN_EXIT.format(app=APP, spool=spool.path))
    with receiver_for(APP, isolated_home) as receiver:
        run_host(script, receiver.url)
        assert no_uploader_for(0.3) and len(spool.files()) == 1
        age_spool(DELIVERY_INTERVAL_S + 1)
        run_host(probe, receiver.url)
        assert receiver.wait_for(lambda r: len(hellos(r)) == 1, timeout=30), spool.files()
        settle(spool)
    assert spool.files() == []
