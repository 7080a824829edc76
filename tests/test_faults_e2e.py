"""Issue 5's fault matrix, end to end and from the host's side: a real host, its detached uploader, a real receiver.

Every case runs one host script twice over: with telemetry off (`DO_NOT_TRACK=1`) as the reference,
and with telemetry on under the fault. The host's exit status, stdout and stderr must be byte for byte
the reference's; then the collector is healed, delivery is driven (`optel upload` in the foreground,
after the detached uploaders the hosts started are done) and every span of every run that a working
collector could have received must have arrived exactly once. Spans are named after their run, so a
duplicate or a loss shows by name.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from optel.spool import Spool
from optel.spool.lock import read_lock
from otlp_receiver import OTLPReceiver

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.name != "posix", reason="POSIX processes and signals"),
]

APP = "fault-matrix"
INSTALL_ID = "3f1d0c9e-0000-4000-8000-00000000f417"


@pytest.fixture(autouse=True)
def _an_uploader_at_every_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about what the detached uploader does with faults, not about when it starts:
    with the delivery interval 0, every host's flush starts one
    (docs/internals.md#the-delivery-policy)."""
    monkeypatch.setenv("OPTEL_UPLOAD_INTERVAL", "0")


# The host: `host.py RUN [commands=N] [steps=N] [fork=1] [signal=TERM|INT at=before|writing|written]`.
# Each run records `commands` commands of `steps` steps, all named after RUN; it prints one line on
# each stream (flushed, so that a death by signal loses no output) and exits 3.
HOST = r'''
import atexit
import os
import signal
import sys

import optel

RUN = sys.argv[1]
OPTS = dict(arg.split("=", 1) for arg in sys.argv[2:])
COMMANDS = int(OPTS.get("commands", "2"))
STEPS = int(OPTS.get("steps", "2"))

optel.init("fault-matrix", version="1.0")


class SendSignal:
    """Sends the chosen signal to this very process (a fixed repr keeps tracebacks identical)."""

    def __repr__(self):
        return "<send-signal>"

    def __call__(self):
        os.kill(os.getpid(), getattr(signal, "SIG" + OPTS["signal"]))


if "signal" in OPTS:
    if OPTS["at"] == "before":
        # Registered after init(), so it runs just before optel's shutdown.
        atexit.register(SendSignal())
    else:
        # Inside optel's shutdown: when the spool file is opened for writing, or once it is in
        # place and the uploader is about to be started (reading the backoff state).
        # (`backoff.<destination>`: the backoff of where this flush goes.)
        marker = {"writing": ".jsonl.tmp", "written": os.sep + "backoff."}[OPTS["at"]]
        fired = []

        def hook(event, args):
            if event == "open" and not fired and isinstance(args[0], str) and marker in args[0]:
                fired.append(True)
                SendSignal()()

        sys.addaudithook(hook)


def run_command(label):
    @optel.command(f"cmd {label}")
    def command():
        for j in range(STEPS):
            optel.step(f"step {label} {j}")(lambda: None)()

    command()


def run_commands(label):
    for i in range(COMMANDS):
        run_command(f"{label}-{i}")


if OPTS.get("fork"):
    run_commands(f"{RUN}-parent-before")
    pid = os.fork()
    if pid == 0:
        run_commands(f"{RUN}-child")
        print("child stdout line", flush=True)
        sys.exit(0)  # atexit runs: the child flushes its own records
    os.waitpid(pid, 0)
    run_commands(f"{RUN}-parent-after")
else:
    run_commands(RUN)

print("host stdout line", flush=True)
print("host stderr line", file=sys.stderr, flush=True)
sys.exit(3)
'''


def expected_names(label: str, commands: int = 2, steps: int = 2) -> list[str]:
    """The span names one `run_commands(label)` records."""
    names = []
    for i in range(commands):
        names.append(f"cmd {label}-{i}")
        names.extend(f"step {label}-{i} {j}" for j in range(steps))
    return names


class Result:
    __slots__ = ("err", "out", "rc")

    def __init__(self, rc: int, out: bytes, err: bytes) -> None:
        self.rc, self.out, self.err = rc, out, err

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Result) and (self.rc, self.out, self.err) == (
            other.rc,
            other.out,
            other.err,
        )

    def __repr__(self) -> str:
        return f"Result(rc={self.rc}, out={self.out!r}, err={self.err!r})"


class Matrix:
    """The host script, its environment, the spool, and the ways to run and drain them."""

    def __init__(self, script: Path, spool: Spool) -> None:
        self.script = script
        self.spool = spool
        self.env = dict(os.environ)

    def environ(self, endpoint: str | None, **extra: str) -> dict[str, str]:
        env = dict(self.env)
        if endpoint is not None:
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
        env.update(extra)
        return env

    def start(
        self, run: str, *opts: str, endpoint: str | None, **extra: str
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, str(self.script), run, *opts],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.environ(endpoint, **extra),
        )

    def host(self, run: str, *opts: str, endpoint: str | None, **extra: str) -> Result:
        proc = self.start(run, *opts, endpoint=endpoint, **extra)
        out, err = proc.communicate(timeout=60)
        return Result(proc.returncode, out, err)

    def reference(self, run: str, *opts: str) -> Result:
        """The same host with telemetry off: what the user sees without optel."""
        return self.host(run, *opts, endpoint=None, DO_NOT_TRACK="1")

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until no uploader holds the spool's lock (the detached ones the hosts started)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = read_lock(self.spool.path)
            if info is None or not process_running(info.pid):
                return
            time.sleep(0.02)
        pytest.fail(f"an uploader still holds the lock after {timeout} s")

    def upload(self, endpoint: str, *flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "optel", "upload", "--app", APP, *flags],
            capture_output=True,
            text=True,
            timeout=60,
            env=self.environ(endpoint),
        )

    def deliver_all(self, endpoint: str) -> None:
        """Drive delivery to a working collector until the spool is empty."""
        for _ in range(5):
            self.settle()
            if not self.waiting():
                return
            done = self.upload(endpoint)
            assert (done.returncode, done.stderr) == (0, ""), done
        assert not self.waiting(), os.listdir(self.spool.path)

    def waiting(self) -> list[str]:
        """Files not yet acknowledged: ready, claimed or being written."""
        try:
            names = os.listdir(self.spool.path)
        except FileNotFoundError:
            return []
        return [n for n in names if ".jsonl" in n]

    def assert_complete_files_only(self) -> None:
        """Every file under a `.jsonl` name reads whole: a half-written one never looks ready."""
        for name in self.spool.files():
            path = os.path.join(self.spool.path, name)
            with open(path, "rb") as f:
                data = f.read()
            assert data.endswith(b"}\n") and b'"t":"end"' in data.rsplit(b"\n", 2)[-2], name


def process_running(pid: int) -> bool:
    """Alive and not a zombie (the init of a container may never reap the detached uploaders)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rpartition(b")")[2].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    return state not in (b"Z", b"X")


def kill_leftover_uploader(spool: Spool) -> None:
    info = read_lock(spool.path)
    if info is None or info.pid <= 0 or not process_running(info.pid):
        return
    try:
        with open(f"/proc/{info.pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:
        cmdline = b""
    if b"optel" in cmdline and b"upload" in cmdline:
        os.kill(info.pid, signal.SIGKILL)


@pytest.fixture
def matrix(tmp_path: Path, isolated_home: Path) -> Iterator[Matrix]:
    config = isolated_home / ".config" / APP
    config.mkdir(parents=True)
    (config / "telemetry.toml").write_text(
        f'mode = "anonymous"\ninstall_id = "{INSTALL_ID}"\ndecided_at = "2026-11-23T18:00:00Z"\nconsent_version = 1\n'
    )
    script = tmp_path / "host.py"
    script.write_text(HOST)
    spool = Spool(APP)
    try:
        yield Matrix(script, spool)
    finally:
        kill_leftover_uploader(spool)


def closed_port() -> int:
    """A loopback port nobody listens on (it was free a moment ago): connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def assert_received_once(
    receiver: OTLPReceiver, names: list[str], lost: tuple[str, ...] = ()
) -> None:
    """Each name arrived exactly once, nothing arrived twice, and nothing of a `lost` run arrived at all."""
    spans = receiver.spans()
    counts = collections.Counter(span["name"] for span in spans)
    assert {name: counts[name] for name in names} == dict.fromkeys(names, 1)
    ids = [span["span_id"] for span in spans]
    assert len(ids) == len(set(ids)), "a span arrived twice"
    for run in lost:
        assert not [n for n in counts if f" {run}-" in n], (
            f"records of run {run} cannot have been written"
        )
    # The delta metrics of a file go out with its spans: a file sent twice would count twice.
    invocations: dict[str, float] = collections.defaultdict(float)
    for point in receiver.metrics():
        if point["name"] == "optel.cli.command.invocations":
            invocations[point["attributes"]["command.name"]] += point["value"]
    commands = [name for name in names if name.startswith("cmd ")]
    assert {name: invocations.get(name) for name in commands} == dict.fromkeys(commands, 1)


@contextlib.contextmanager
def mounted_cache(isolated_home: Path, options: str) -> Iterator[Path]:
    """A small tmpfs as the cache dir (XDG_CACHE_HOME), unmounted afterwards; skips where mount is refused."""
    cache = isolated_home / ".cache"
    cache.mkdir(exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited or read-only tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(cache)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"mount -t tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield cache
    finally:
        # An uploader still running there would keep the mount busy.
        kill_leftover_uploader(Spool(APP))
        if subprocess.run(["umount", str(cache)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(cache)], capture_output=True)


# -- the collector ----------------------------------------------------------------------------------


def test_collector_down_the_host_is_unchanged_and_everything_arrives_once_when_it_is_back(
    matrix: Matrix,
) -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    reference = matrix.reference("r1")
    assert reference == Result(3, b"host stdout line\n", b"host stderr line\n")

    assert matrix.host("r1", endpoint=url) == reference
    matrix.settle()
    assert len(matrix.spool.files()) == 1, "the collector is down: the flush waits in the spool"
    assert matrix.spool.backoff_until() is not None and matrix.spool.failures() == 1

    # Within the backoff the next run spawns no uploader: the failure count stays at one.
    assert matrix.host("r2", endpoint=url) == reference
    matrix.settle()
    assert (len(matrix.spool.files()), matrix.spool.failures()) == (2, 1)

    with OTLPReceiver(port=port) as receiver:
        matrix.deliver_all(url)
        assert_received_once(receiver, expected_names("r1") + expected_names("r2"))
    assert matrix.spool.backoff_until() is None


UPLOADER_FAULTS = {
    "500": lambda r: r.respond_with(500),
    "429-retry-after": lambda r: r.respond_with(429, {"Retry-After": "3600"}),
    "hang": lambda r: r.hang(),
    "reset-mid-body": lambda r: r.reset(),
}


@pytest.mark.parametrize("fault", list(UPLOADER_FAULTS))
def test_a_failing_collector_leaves_the_host_unchanged_backs_off_and_then_gets_everything_once(
    matrix: Matrix, fault: str
) -> None:
    reference = matrix.reference("r1")
    with OTLPReceiver() as receiver:
        UPLOADER_FAULTS[fault](receiver)
        # A short export timeout (milliseconds, as the specification says), inherited by the
        # detached uploader, bounds the hanging case: the endpoint is the user's (the variable).
        timeout = {"OTEL_EXPORTER_OTLP_TIMEOUT": "500"}
        assert matrix.host("r1", endpoint=receiver.url, **timeout) == reference
        matrix.settle()
        assert receiver.requests, "the detached uploader tried the collector"
        assert receiver.accepted() == []
        assert len(matrix.spool.files()) == 1
        until = matrix.spool.backoff_until()
        assert until is not None
        if fault.startswith("429"):
            assert until > time.time() + 3000, "Retry-After is honoured"

        # Within the backoff: neither the next host nor a detached uploader connects again.
        connections = receiver.connections
        assert matrix.host("r2", endpoint=receiver.url, **timeout) == reference
        matrix.settle()
        detached = matrix.upload(receiver.url, "--detached")
        assert (detached.returncode, detached.stdout, detached.stderr) == (0, "", "")
        assert receiver.connections == connections
        assert len(matrix.spool.files()) == 2

        receiver.behave()
        matrix.deliver_all(receiver.url)
        assert_received_once(receiver, expected_names("r1") + expected_names("r2"))


def test_an_uploader_killed_mid_export_holds_up_nothing_and_its_claim_arrives_once(
    matrix: Matrix,
) -> None:
    reference = matrix.reference("r1")
    with OTLPReceiver() as receiver:
        receiver.hang()
        assert (
            matrix.host("r1", endpoint=receiver.url, OTEL_EXPORTER_OTLP_TIMEOUT="60000")
            == reference
        )
        assert receiver.wait_for(lambda r: len(r.requests) == 1)
        info = read_lock(matrix.spool.path)
        assert info is not None and process_running(info.pid)
        assert [n for n in os.listdir(matrix.spool.path) if f".claimed.{info.pid}" in n]
        # Killed (OOM, a user) with the lock and a claim; where init does not reap, it stays a zombie.
        os.kill(info.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while process_running(info.pid) and time.monotonic() < deadline:
            time.sleep(0.01)

        receiver.behave()
        assert matrix.host("r2", endpoint=receiver.url) == reference
        matrix.deliver_all(receiver.url)
        assert_received_once(receiver, expected_names("r1") + expected_names("r2"))


# -- the disk -----------------------------------------------------------------------------------------


def test_read_only_cache_dir_the_host_is_unchanged_and_later_runs_arrive_once(
    matrix: Matrix, isolated_home: Path
) -> None:
    reference = matrix.reference("r1")
    with OTLPReceiver() as receiver:
        with mounted_cache(isolated_home, "ro,size=64k") as cache:
            assert matrix.host("r1", endpoint=receiver.url) == reference
            assert os.listdir(cache) == []
            assert receiver.connections == 0
        # The run on the read-only disk could not write its records: they are lost, nothing else is.
        assert matrix.host("r2", endpoint=receiver.url) == reference
        matrix.deliver_all(receiver.url)
        assert_received_once(receiver, expected_names("r2"), lost=("r1",))


def test_full_disk_the_host_is_unchanged_and_only_the_flush_that_did_not_fit_is_lost(
    matrix: Matrix, isolated_home: Path
) -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    reference = matrix.reference("r1")
    big = ("steps=400",)  # ~300 kB of records: cannot fit in 64 kB
    big_reference = matrix.reference("r2", *big)
    with mounted_cache(isolated_home, "size=64k"):
        assert matrix.host("r1", endpoint=url) == reference
        matrix.settle()
        assert matrix.host("r2", *big, endpoint=url) == big_reference
        assert matrix.host("r3", endpoint=url) == reference
        matrix.settle()
        assert not [n for n in os.listdir(matrix.spool.path) if n.endswith(".tmp")], (
            "a partial file was left"
        )
        assert len(matrix.spool.files()) == 2
        matrix.assert_complete_files_only()
        with OTLPReceiver(port=port) as receiver:
            matrix.deliver_all(url)
    # r2's records never reached the disk; r1's file, already there, and r3's, written after, are whole.
    assert_received_once(receiver, expected_names("r1") + expected_names("r3"), lost=("r2",))


def test_corrupt_and_truncated_spool_files_are_quarantined_and_the_rest_arrives_once(
    matrix: Matrix,
) -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    reference = matrix.reference("r1")
    for run in ("r1", "r2"):
        assert matrix.host(run, endpoint=url) == reference
        matrix.settle()
    first, _second = (os.path.join(matrix.spool.path, n) for n in matrix.spool.files())
    with open(first, "rb+") as f:
        f.truncate(os.path.getsize(first) - 30)  # r1: cut inside its trailer
    garbage = os.path.join(matrix.spool.path, f"{time.time_ns()}-1-0badf11e.jsonl")
    with open(garbage, "wb") as f:
        f.write(b"\x00\xffnot json at all\n")
    matrix.spool.record_success()  # the backoff of the failed attempts elapsed

    with OTLPReceiver(port=port) as receiver:
        assert matrix.host("r3", endpoint=url) == reference
        matrix.deliver_all(url)
        quarantine = os.listdir(os.path.join(matrix.spool.path, "quarantine"))
        assert sorted(quarantine) == sorted(os.path.basename(p) for p in (first, garbage))
        assert_received_once(receiver, expected_names("r2") + expected_names("r3"), lost=("r1",))
        dropped = [m for m in receiver.metrics() if m["name"] == "optel.spool.dropped"]
        assert {m["attributes"]["reason"] for m in dropped} == {"corrupt"}


# -- signals, fork, concurrency ----------------------------------------------------------------------------


@pytest.mark.parametrize("at", ["before", "writing", "written"])
@pytest.mark.parametrize("signame", ["TERM", "INT"])
def test_a_signal_during_shutdown_exits_as_python_would_leaves_no_half_file_and_loses_only_that_flush(
    matrix: Matrix, signame: str, at: str
) -> None:
    opts = (f"signal={signame}", f"at={at}")
    reference = matrix.reference("r1", *opts)
    # What Python does with the signal at the host's exit without optel: SIGTERM kills it (-15);
    # a KeyboardInterrupt in an exit handler is reported by that handler and the exit status stays.
    python_would = matrix.reference("r1", f"signal={signame}", "at=before")
    assert python_would.rc == (-signal.SIGTERM if signame == "TERM" else 3)
    with OTLPReceiver() as receiver:
        done = matrix.host("r1", *opts, endpoint=receiver.url)
        assert (done.out, done.err) == (reference.out, reference.err)
        assert done.rc == python_would.rc
        matrix.settle()
        matrix.assert_complete_files_only()
        # No writer was killed mid-file: a SIGTERM waits for optel's exit flush (optel._flushes).
        if os.path.isdir(matrix.spool.path):
            assert not [n for n in os.listdir(matrix.spool.path) if n.endswith(".tmp")]
        if (signame, at) == ("INT", "written"):
            # Caught between the file and the uploader: the file waits, whole, for the next run.
            assert (len(matrix.spool.files()), receiver.connections) == (1, 0)

        assert matrix.host("r2", endpoint=receiver.url) == matrix.reference("r2")
        matrix.settle()
        # The next writer removed what a writer killed mid-file left behind.
        assert not [n for n in os.listdir(matrix.spool.path) if n.endswith(".tmp")]
        matrix.deliver_all(receiver.url)
        if (signame, at) in (("TERM", "before"), ("INT", "writing")):
            # SIGTERM before optel's exit flush kills at once, as without optel; a KeyboardInterrupt
            # inside it stops it before its file existed: lost whole, never sent in part.
            assert_received_once(receiver, expected_names("r2"), lost=("r1",))
        else:
            assert_received_once(receiver, expected_names("r1") + expected_names("r2"))


def test_a_host_that_forks_delivers_parent_and_child_records_once_each(matrix: Matrix) -> None:
    reference = matrix.reference("r1", "fork=1")
    assert reference == Result(3, b"child stdout line\nhost stdout line\n", b"host stderr line\n")
    with OTLPReceiver() as receiver:
        assert matrix.host("r1", "fork=1", endpoint=receiver.url) == reference
        matrix.deliver_all(receiver.url)
        names = [expected_names(f"r1-{who}") for who in ("parent-before", "child", "parent-after")]
        assert_received_once(receiver, [n for group in names for n in group])
        sessions = [s for s in receiver.spans() if s["name"] == "optel.cli.session"]
        assert len(sessions) == 2, "one session span per process"


def test_two_hosts_and_two_uploaders_at_once_deliver_every_record_once(matrix: Matrix) -> None:
    opts = ("commands=5",)
    reference = matrix.reference("a0", *opts)
    expected: list[str] = []
    with OTLPReceiver() as receiver:
        for round_ in range(3):
            runs = [f"a{round_}", f"b{round_}"]
            hosts = [matrix.start(run, *opts, endpoint=receiver.url) for run in runs]
            uploaders = [
                subprocess.Popen(
                    [sys.executable, "-m", "optel", "upload", "--app", APP],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=matrix.environ(receiver.url),
                )
                for _ in range(2)
            ]
            for proc in hosts:
                out, err = proc.communicate(timeout=60)
                assert Result(proc.returncode, out, err) == reference
            for uploader in uploaders:
                out, err = uploader.communicate(timeout=60)
                assert (uploader.returncode, err, out.count("\n")) == (0, "", 1)
            expected += [n for run in runs for n in expected_names(run, commands=5)]
        matrix.deliver_all(receiver.url)
        assert_received_once(receiver, expected)
