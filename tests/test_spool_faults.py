"""Faults around the spool: read-only and full disks, signals mid-write, concurrent writers and claimers.

In every case the host's exit code, stdout and stderr stay as the host made them, and the spool
holds only complete files (a half-written one never appears under a `.jsonl` name).
"""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from optel import _paths
from optel.spool import CorruptSpoolFile, Spool

APP = "fault-test"
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and mounts")

# `sys.executable = ""`: no uploader is started; these tests are about the host and its spool.
HOST = """\
import atexit, os, sys
sys.executable = ""
from optel._flushes import deliver
header = {{"app": {app!r}, "created_ns": 1}}
records = [{{"t": "span", "name": "r%d" % i, "attributes": {{"pad": "x" * {pad}}}}} for i in range({n})]
atexit.register(deliver, {app!r}, header, records, send=True, debug=False, log_file={log!r})
print("host output")
sys.exit(3)
"""


def run_host(
    python: str, *, n: int = 3, pad: int = 0, log: str | None = None
) -> subprocess.CompletedProcess[str]:
    code = HOST.format(app=APP, n=n, pad=pad, log=log)
    return subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=30)


def mount_tmpfs(path: Path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


def umount(path: Path) -> None:
    subprocess.run(["umount", str(path)], capture_output=True)


@posix_only
def test_read_only_cache_dir_leaves_the_host_untouched(python: str, isolated_home: Path) -> None:
    cache = isolated_home / ".cache"
    mounted = mount_tmpfs(cache, "ro,size=64k")
    if not mounted:
        if os.geteuid() == 0:
            pytest.skip("root ignores permissions and mount is not permitted here")
        cache.mkdir(exist_ok=True)
        cache.chmod(0o500)
    try:
        done = run_host(python, log=str(cache / "audit.log"))
        assert (done.returncode, done.stdout, done.stderr) == (3, "host output\n", "")
        assert os.listdir(cache) == []
    finally:
        if mounted:
            umount(cache)
        else:
            cache.chmod(0o700)


@posix_only
def test_full_disk_leaves_no_partial_file_and_the_host_untouched(
    python: str, isolated_home: Path
) -> None:
    cache = isolated_home / ".cache"
    spool = Spool(APP)
    if mount_tmpfs(cache, "size=64k"):
        try:
            done = run_host(python, n=100, pad=1000)  # ~100 kB: does not fit in 64k
            assert (done.returncode, done.stdout, done.stderr) == (3, "host output\n", "")
            assert os.listdir(spool.path) == []
            done = run_host(python, n=3)  # a small flush still fits afterwards
            assert done.returncode == 3 and len(spool.files()) == 1
        finally:
            umount(cache)
        return
    # No mount: the kernel's file size limit makes the write fail the way a full disk does.
    code = "import resource, signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
    code += "resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))\n" + HOST.format(
        app=APP, n=100, pad=1000, log=None
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (3, "host output\n", "")
    assert os.listdir(spool.path) == []


def test_an_unwritable_audit_log_is_swallowed(python: str, isolated_home: Path) -> None:
    (isolated_home / "log-is-a-dir").mkdir()
    done = run_host(python, log=str(isolated_home / "log-is-a-dir"))
    assert (done.returncode, done.stdout, done.stderr) == (3, "host output\n", "")
    assert len(Spool(APP).files()) == 1


WRITER = """\
import os, sys
from optel.spool import Spool
spool = Spool({app!r})
tag = sys.argv[1]
for i in range({files}):
    spool.write({{"app": {app!r}}}, [{{"t": "span", "name": "%s-%d-%d" % (tag, i, j)}} for j in range(3)])
"""

CLAIMER = """\
import os, sys, time
from optel.spool import Spool
spool = Spool({app!r})
out = open(sys.argv[1], "w")
idle_since = time.time()
while time.time() - idle_since < 1.0:
    claims = spool.claim(limit=2)
    if claims:
        idle_since = time.time()
    for claim in claims:
        _, records = claim.read()
        for record in records:
            out.write(claim.name + " " + record["name"] + "\\n")
        spool.ack(claim)
out.close()
"""


@pytest.mark.slow
def test_two_writers_and_two_claimers_every_record_claimed_exactly_once(
    python: str, tmp_path: Path
) -> None:
    files = 60
    writers = [
        subprocess.Popen([python, "-c", WRITER.format(app=APP, files=files), tag])
        for tag in ("a", "b")
    ]
    outs = [tmp_path / "c1", tmp_path / "c2"]
    claimers = [subprocess.Popen([python, "-c", CLAIMER.format(app=APP), str(out)]) for out in outs]
    for proc in writers + claimers:
        assert proc.wait(timeout=60) == 0
    seen = [line.split() for out in outs for line in out.read_text().splitlines()]
    names = [name for _, name in seen]
    assert len(names) == len(set(names)) == 2 * files * 3
    assert {name.rsplit("-", 2)[0] for name in names} == {"a", "b"}
    assert all(out.read_text() for out in outs), (
        "one claimer got everything: the race was not exercised"
    )
    assert Spool(APP).files() == [] and not any(
        ".claimed." in n for n in os.listdir(Spool(APP).path)
    )


LOOPING_WRITER = """\
import os, sys
from optel.spool import Spool
spool = Spool({app!r})
records = [{{"t": "span", "name": "x", "attributes": {{"pad": "y" * 2000}}}} for _ in range(500)]
print("ready", flush=True)
while True:
    spool.write({{"app": {app!r}}}, records, max_bytes=1 << 30)
"""


@posix_only
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_write_leaves_complete_files_or_nothing(python: str, signum: int) -> None:
    spool = Spool(APP)
    for delay in (0.05, 0.13, 0.21):
        proc = subprocess.Popen(
            [python, "-c", LOOPING_WRITER.format(app=APP)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        time.sleep(delay)
        proc.send_signal(signum)
        proc.wait(timeout=30)
        leftovers = [n for n in os.listdir(spool.path) if n.endswith(".tmp")]
        if signum == signal.SIGINT:
            assert leftovers == [], "KeyboardInterrupt must remove the temporary file"
        for claim in spool.claim():
            _, records = claim.read()
            assert len(records) == 500
            spool.ack(claim)
    # The next full look at the files (every uploader run's, or a writer's once the tally is
    # 10 minutes old) removes the temporary files that killed writers left behind.
    spool.enforce_bounds()
    assert [n for n in os.listdir(spool.path) if n.endswith(".tmp")] == []


def test_truncated_and_corrupt_files_among_good_ones_are_quarantined(isolated_home: Path) -> None:
    spool = Spool(APP)
    good = [spool.write({"app": APP}, [{"t": "span", "name": str(i)}]) for i in range(3)]
    Path(good[0]).write_bytes(Path(good[0]).read_bytes()[:-10])  # type: ignore[arg-type]
    Path(good[1]).write_text("not json\n")  # type: ignore[arg-type]
    sent, quarantined = [], []
    for claim in spool.claim():
        try:
            sent.append(claim.read()[1])
        except CorruptSpoolFile:
            spool.quarantine(claim, "corrupt")
            quarantined.append(claim.name)
        else:
            spool.ack(claim)
    assert sent == [[{"t": "span", "name": "2"}]]
    assert sorted(os.listdir(os.path.join(spool.path, "quarantine"))) == sorted(quarantined)
    assert spool.take_drop_counts() == {"corrupt": 1}  # the one whose lines could still be counted


@posix_only
def test_a_forked_child_delivering_does_not_touch_the_parents_file(python: str) -> None:
    code = textwrap.dedent(
        f"""\
        import os, sys
        sys.executable = ""
        from optel._flushes import deliver
        header = {{"app": {APP!r}}}
        pid = os.fork()
        records = [{{"t": "span", "name": "child" if pid == 0 else "parent"}}]
        deliver({APP!r}, header, records, send=True, debug=False, log_file=None)
        if pid:
            os.waitpid(pid, 0)
        """
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stderr) == (0, "")
    spool = Spool(APP)
    names = sorted(r["name"] for c in spool.claim() for r in c.read()[1])
    assert names == ["child", "parent"]


def test_spool_dir_is_per_app_under_the_cache_dir(isolated_home: Path) -> None:
    assert Spool("one").path != Spool("two").path
    assert Spool("one").path.startswith(str(isolated_home / ".cache"))
    assert Spool("one").path == _paths.spool_dir("one")


@posix_only
def test_a_forked_host_child_does_not_deliver_the_parents_records_again(
    python: str, isolated_home: Path
) -> None:
    config = isolated_home / ".config" / APP
    config.mkdir(parents=True)
    (config / "telemetry.toml").write_text(
        'mode = "anonymous"\ninstall_id = "3f1d0c9e-0000-4000-8000-000000000001"\n'
        'decided_at = "2026-11-23T18:00:00Z"\nconsent_version = 1\n'
    )
    code = textwrap.dedent(
        f"""\
        import os, sys
        sys.executable = ""
        import optel
        optel.init({APP!r}, endpoint="http://127.0.0.1:9", version="1.0")

        @optel.command()
        def parent_work():
            return 1

        parent_work()
        if os.fork() == 0:
            sys.exit(0)  # atexit runs in the child too
        os.wait()
        """
    )
    try:
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail(
            "the forked child hung in shutdown (a lock or import lock inherited from another thread)"
        )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    spool = Spool(APP)
    names = [r.get("name") for c in spool.claim() for r in c.read()[1] if r.get("t") == "span"]
    assert len([n for n in names if "parent_work" in str(n)]) == 1, names


ONE_COMMAND = """\
import optel
optel.init({app!r}, endpoint={endpoint!r}, version="1.0")

@optel.command()
def hello():
    return 1

hello()
print("host output")
"""


@pytest.mark.slow
@posix_only
def test_collector_down_then_up_every_record_arrives_once_through_the_detached_uploader(
    python: str, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "OPTEL_UPLOAD_INTERVAL", "0"
    )  # an uploader at every flush (the test is about its faults)
    import socket

    from otlp_receiver import OTLPReceiver

    config = isolated_home / ".config" / APP
    config.mkdir(parents=True)
    (config / "telemetry.toml").write_text(
        'mode = "anonymous"\ninstall_id = "3f1d0c9e-0000-4000-8000-000000000002"\n'
        'decided_at = "2026-11-23T18:00:00Z"\nconsent_version = 1\n'
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = ONE_COMMAND.format(app=APP, endpoint=f"http://127.0.0.1:{port}")
    spool = Spool(APP)
    for _ in range(2):
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=30)
        assert (done.returncode, done.stdout, done.stderr) == (0, "host output\n", "")
        deadline = time.time() + 20
        while os.path.exists(os.path.join(spool.path, "uploader.lock")) and time.time() < deadline:
            time.sleep(0.05)
    assert len(spool.files()) == 2, "the collector is down: both flushes wait in the spool"
    assert spool.backoff_until() is not None, "the failed upload set a backoff"

    with OTLPReceiver(port=port) as receiver:
        spool.record_success()  # the backoff elapsed
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=30)
        assert (done.returncode, done.stdout, done.stderr) == (0, "host output\n", "")
        assert receiver.wait_for(lambda r: not spool.files() and len(r.spans()) >= 3, timeout=30), (
            spool.files()
        )
        time.sleep(0.3)
        spans = receiver.spans()
    ids = [span["span_id"] for span in spans]
    assert len(ids) == len(set(ids)), "a span arrived twice"
    assert len([s for s in spans if "hello" in s["name"]]) == 3
