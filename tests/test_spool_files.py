"""Spool files: the schema on disk, atomic writes, bounds, claims, backoff, status and removal."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from optel import _paths
from optel.cli.spool_status import format_spool
from optel.spool import TALLY_TRUSTED_S, Claim, CorruptSpoolFile, Spool, delete_all, describe, write
from optel.spool.state import BACKOFF_BASE_S, BACKOFF_CAP_S

APP = "spool-test"


def header(**extra: object) -> dict[str, object]:
    value: dict[str, object] = {
        "schema": "optel.spool/1",
        "app": APP,
        "created_ns": time.time_ns(),
        "resource": {"service.name": APP},
        "consent": {"mode": "anonymous", "source": "user_file", "install_id": "abc"},
        "export": {"endpoint": None, "headers": None},
        "settings": {
            "policy": "opt-in",
            "sample_percent": 100.0,
            "consent_version": 1,
            "version_module": None,
        },
    }
    value.update(extra)
    return value


def spans(n: int, tag: str = "s", pad: int = 0) -> list[dict[str, object]]:
    return [
        {
            "t": "span",
            "trace_id": "0" * 32,
            "span_id": f"{i:016x}",
            "parent_span_id": None,
            "name": f"{tag}-{i}",
            "kind": "internal",
            "start_ns": 1,
            "end_ns": 2,
            "attributes": {"pad": "x" * pad},
            "status": "unset",
            "status_message": None,
            "events": [],
        }
        for i in range(n)
    ]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_flush_follows_the_documented_schema(isolated_home: Path) -> None:
    path = write(
        APP,
        header(),
        [*spans(2), {"t": "metric", "name": "m", "value": 1, "attributes": {}, "time_ns": 3}],
    )
    assert path is not None
    assert os.path.dirname(path) == _paths.spool_dir(APP)
    name = os.path.basename(path)
    created, pid, rand = name[: -len(".jsonl")].split("-")
    assert created.isdigit() and int(pid) == os.getpid() and len(rand) == 8
    lines = [json.loads(line) for line in Path(path).read_text().splitlines()]
    assert lines[0]["schema"] == "optel.spool/1" and lines[0]["app"] == APP
    assert [line["t"] for line in lines[1:]] == ["span", "span", "metric", "end"]
    assert lines[-1] == {"t": "end", "records": 3}


def test_spool_dir_is_private_and_files_are_0600(isolated_home: Path) -> None:
    path = write(APP, header(), spans(1))
    assert path is not None
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700


def test_an_existing_spool_dir_open_to_others_is_tightened(isolated_home: Path) -> None:
    directory = _paths.spool_dir(APP)
    os.makedirs(directory, mode=0o777)
    os.chmod(directory, 0o777)
    write(APP, header(), spans(1))
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700


def test_a_claim_reads_back_what_was_written(isolated_home: Path) -> None:
    records = spans(3)
    write(APP, header(), records)
    (claim,) = Spool(APP).claim()
    head, read = claim.read()
    assert head["consent"] == {"mode": "anonymous", "source": "user_file", "install_id": "abc"}
    assert read == records
    assert claim.records == 3


def test_oldest_files_are_dropped_first_when_the_size_bound_is_reached(isolated_home: Path) -> None:
    spool = Spool(APP)
    paths = [spool.write(header(), spans(2, tag=str(i), pad=400), max_bytes=4000) for i in range(6)]
    size = os.path.getsize(paths[-1])  # type: ignore[arg-type]
    kept = spool.files()
    assert sum(os.path.getsize(os.path.join(spool.path, n)) for n in kept) <= 4000
    assert kept == sorted(os.path.basename(p) for p in paths[-len(kept) :])  # type: ignore[arg-type]
    assert len(kept) == 4000 // size
    assert spool.take_drop_counts() == {"size": 2 * (6 - len(kept))}
    assert spool.take_drop_counts() == {}


def test_files_older_than_the_age_bound_are_dropped(isolated_home: Path) -> None:
    spool = Spool(APP)
    os.makedirs(spool.path)
    old = os.path.join(spool.path, f"{time.time_ns() - 15 * 86400 * 10**9}-1-abcdef01.jsonl")
    Path(old).write_bytes(
        b'{"schema":"optel.spool/1"}\n{"t":"span"}\n{"t":"span"}\n{"t":"end","records":2}\n'
    )
    new = spool.write(header(), spans(1))
    assert not os.path.exists(old)
    assert spool.files() == [os.path.basename(new)]  # type: ignore[arg-type]
    assert spool.drop_counts() == {"age": 2}


def test_a_flush_larger_than_the_bound_is_dropped_and_counted(isolated_home: Path) -> None:
    spool = Spool(APP)
    assert spool.write(header(), spans(5, pad=1000), max_bytes=1000) is None
    assert spool.files() == []
    assert spool.take_drop_counts() == {"size": 5}


def test_temporary_files_of_dead_writers_are_removed(isolated_home: Path) -> None:
    spool = Spool(APP)
    os.makedirs(spool.path)
    leftover = os.path.join(spool.path, f"{time.time_ns()}-{dead_pid()}-00000000.jsonl.tmp")
    Path(leftover).write_text('{"schema":')
    spool.write(header(), spans(1))
    assert not os.path.exists(leftover)


def test_claim_renames_so_a_second_claim_gets_nothing(isolated_home: Path) -> None:
    write(APP, header(), spans(1))
    write(APP, header(), spans(1))
    spool = Spool(APP)
    claims = spool.claim()
    assert len(claims) == 2
    assert all(c.path.endswith(f".claimed.{os.getpid()}") for c in claims)
    assert spool.claim() == [] and spool.files() == []


def test_claim_limit_takes_the_oldest_first(isolated_home: Path) -> None:
    names = [os.path.basename(write(APP, header(), spans(1)) or "") for _ in range(3)]
    (claim,) = Spool(APP).claim(limit=1)
    assert claim.name == names[0]


def test_files_claimed_by_a_dead_process_are_claimed_again(isolated_home: Path) -> None:
    path = write(APP, header(), spans(1))
    assert path is not None
    os.rename(path, f"{path}.claimed.{dead_pid()}")
    (claim,) = Spool(APP).claim()
    assert claim.name == os.path.basename(path)


def test_files_claimed_by_a_live_process_are_left_alone_until_stale(isolated_home: Path) -> None:
    path = write(APP, header(), spans(1))
    assert path is not None
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as other:
        try:
            claimed = f"{path}.claimed.{other.pid}"
            os.rename(path, claimed)
            assert Spool(APP).claim() == []
            an_hour_ago = time.time() - 3600
            os.utime(claimed, (an_hour_ago, an_hour_ago))
            assert len(Spool(APP).claim()) == 1
        finally:
            other.kill()


def test_release_gives_the_file_back_and_ack_deletes_it(isolated_home: Path) -> None:
    write(APP, header(), spans(1))
    spool = Spool(APP)
    (claim,) = spool.claim()
    spool.release(claim)
    assert spool.files() == [claim.name]
    (claim,) = spool.claim()
    spool.ack(claim)
    # Only the writers' tally of the spool's size is left, no flush of any kind.
    assert os.listdir(spool.path) == ["tally"]


def test_drop_deletes_and_counts_records(isolated_home: Path) -> None:
    write(APP, header(), spans(4))
    spool = Spool(APP)
    (claim,) = spool.claim()
    spool.drop(claim, "rejected")
    assert spool.files() == []
    assert spool.take_drop_counts() == {"rejected": 4}


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda data: data[: len(data) // 2], "truncated"),
        (lambda data: data[: data.rindex(b'{"t":"end"')], "no trailer"),
        (lambda data: data.replace(b'"name"', b'"name', 1), "not JSON"),
        (lambda data: data.replace(b"optel.spool/1", b"optel.spool/9"), "not a optel.spool/1"),
        (lambda data: data.replace(b'"records":3', b'"records":4'), "trailer says"),
        (lambda data: b"", "truncated"),
    ],
)
def test_truncated_or_corrupt_files_are_refused_and_quarantined(
    isolated_home: Path, mangle, message
) -> None:  # type: ignore[no-untyped-def]
    path = write(APP, header(), spans(3))
    assert path is not None
    Path(path).write_bytes(mangle(Path(path).read_bytes()))
    spool = Spool(APP)
    (claim,) = spool.claim()
    with pytest.raises(CorruptSpoolFile, match=message):
        claim.read()
    spool.quarantine(claim, "corrupt")
    assert spool.files() == []
    assert os.listdir(os.path.join(spool.path, "quarantine")) == [claim.name]
    assert set(spool.take_drop_counts()) <= {"corrupt"}


def test_quarantine_counts_every_file_and_keeps_those_within_the_bounds(
    isolated_home: Path,
) -> None:
    spool = Spool(APP)
    for _ in range(23):
        write(APP, header(), spans(1))
    for claim in spool.claim():
        spool.quarantine(claim, "corrupt")
    assert len(os.listdir(os.path.join(spool.path, "quarantine"))) == 23, (
        "no count bound: 14 days, 20 MiB"
    )
    assert spool.take_drop_counts() == {"corrupt": 23}
    assert spool.prune_quarantine(max_bytes=0) == 23


def test_backoff_grows_with_jitter_and_is_remembered_across_processes(isolated_home: Path) -> None:
    spool = Spool(APP)
    assert spool.backoff_until() is None
    before = time.time()
    first = spool.record_failure()
    assert before + BACKOFF_BASE_S / 2 <= first <= time.time() + BACKOFF_BASE_S
    second = spool.record_failure()
    assert before + BACKOFF_BASE_S <= second <= time.time() + 2 * BACKOFF_BASE_S
    code = f"from optel.spool import Spool; print(Spool({APP!r}).backoff_until())"
    seen = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(seen.stdout) == pytest.approx(second)
    assert Spool(APP).failures() == 2
    spool.record_success()
    assert spool.backoff_until() is None and spool.failures() == 0


def test_backoff_is_capped_and_honours_retry_after(isolated_home: Path) -> None:
    spool = Spool(APP)
    for _ in range(30):
        until = spool.record_failure()
    assert until <= time.time() + BACKOFF_CAP_S
    assert (
        BACKOFF_CAP_S <= 4 * 3600
    )  # no longer than the delivery interval: data waits at most that much more
    assert spool.record_failure(retry_after=7200) >= time.time() + 7199
    assert spool.record_failure(retry_after=10**9) <= time.time() + 86400


def test_drop_counts_taken_by_a_dead_uploader_are_not_lost(isolated_home: Path) -> None:
    spool = Spool(APP)
    spool.add_drop_counts({"size": 5})
    os.rename(
        os.path.join(spool.path, "dropped"),
        os.path.join(spool.path, f"dropped.{dead_pid()}.taking"),
    )
    spool.add_drop_counts({"size": 1, "rejected": 2})
    assert spool.drop_counts() == {"size": 6, "rejected": 2}
    assert spool.take_drop_counts() == {"size": 6, "rejected": 2}
    assert [n for n in os.listdir(spool.path) if n.startswith("dropped")] == []


def test_describe_reports_files_bytes_age_backoff_and_drops(isolated_home: Path) -> None:
    assert format_spool(describe(APP)).startswith("spool: empty")
    paths = [write(APP, header(), spans(2)) for _ in range(2)]
    spool = Spool(APP)
    spool.record_failure()
    spool.add_drop_counts({"size": 3})
    info = describe(APP)
    assert info.files == 2
    assert info.bytes == sum(os.path.getsize(p) for p in paths)  # type: ignore[arg-type]
    assert info.oldest_ns is not None and info.oldest_ns <= time.time_ns()
    assert info.next_retry_ns is not None and info.next_retry_ns > time.time_ns()
    assert info.dropped == {"size": 3}
    assert not info.uploader_running
    text = format_spool(info)
    assert (
        "2 files" in text
        and "next upload attempt: in" in text
        and "dropped since the last upload: 3" in text
    )


def test_delete_all_removes_files_claims_quarantine_and_state(isolated_home: Path) -> None:
    for _ in range(3):
        write(APP, header(), spans(1))
    spool = Spool(APP)
    first, second, _third = spool.claim()
    spool.release(second)
    spool.quarantine(first, "corrupt")
    spool.record_failure()
    assert delete_all(APP) == 3
    assert not os.path.exists(spool.path)
    assert delete_all(APP) == 0


def test_an_ack_after_delete_all_is_harmless(isolated_home: Path) -> None:
    write(APP, header(), spans(1))
    spool = Spool(APP)
    (claim,) = spool.claim()
    delete_all(APP)
    spool.ack(claim)
    spool.release(claim)
    with pytest.raises(OSError):
        claim.read()
    assert not os.path.exists(spool.path)


def test_spool_at_a_path_and_claim_repr(tmp_path: Path) -> None:
    spool = Spool.at(str(tmp_path / "s"))
    spool.write(header(), spans(1))
    (claim,) = spool.claim()
    assert isinstance(claim, Claim) and claim.created_ns is not None and claim.name in repr(claim)


def test_lock_leftovers_of_killed_processes_are_removed(isolated_home: Path) -> None:
    spool = Spool(APP)
    os.makedirs(spool.path)
    gone = dead_pid()
    leftovers = [f"uploader.lock.{gone}.0a1b2c3d.tmp", f"uploader.lock.stale.{gone}"]
    for name in leftovers:
        Path(spool.path, name).write_text("1 2 t\n")
    mine = f"uploader.lock.{os.getpid()}.00000000.tmp"
    Path(spool.path, mine).write_text("")
    spool.write(header(), spans(1))
    left = os.listdir(spool.path)
    assert mine in left and not set(leftovers) & set(left)


def test_a_writer_trusts_a_fresh_tally_and_looks_at_every_file_once_it_is_stale(
    isolated_home: Path,
) -> None:
    spool = Spool(APP)
    first = spool.write(header(), spans(1))
    assert first is not None
    checked, total, oldest = (int(p) for p in (Path(spool.path) / "tally").read_text().split())
    assert total == os.path.getsize(first)
    # A file past the age bound that no full look has seen yet (another writer's, say).
    old = os.path.join(spool.path, f"{time.time_ns() - 15 * 86400 * 10**9}-1-abcdef01.jsonl")
    Path(old).write_bytes(b'{"schema":"optel.spool/1"}\n{"t":"span"}\n{"t":"end","records":1}\n')
    second = spool.write(header(), spans(1))
    assert os.path.exists(old), "a fresh tally spares the writer a look at every file"
    _, total, _ = (int(p) for p in (Path(spool.path) / "tally").read_text().split())
    assert total == os.path.getsize(first) + os.path.getsize(second)  # type: ignore[arg-type]
    # Once the tally is older than it may be trusted, the next writer looks again.
    (Path(spool.path) / "tally").write_text(
        f"{checked - int(TALLY_TRUSTED_S * 1e9) - 1} {total} {oldest}\n"
    )
    spool.write(header(), spans(1))
    assert not os.path.exists(old)
    assert spool.drop_counts() == {"age": 1}


def test_a_tally_near_the_size_bound_makes_the_writer_look_and_count_again(
    isolated_home: Path,
) -> None:
    spool = Spool(APP)
    for i in range(2):
        spool.write(header(), spans(2, tag=str(i), pad=400), max_bytes=8000)
    tally = Path(spool.path) / "tally"
    checked, _, oldest = (int(p) for p in tally.read_text().split())
    # The uploader sent and deleted files since the tally was made: it says more than there is.
    tally.write_text(f"{checked} {8000 - 100} {oldest}\n")
    spool.write(header(), spans(2, tag="x", pad=400), max_bytes=8000)
    # Near the bound, the writer looked at the files instead: nothing dropped, the tally true again.
    assert len(spool.files()) == 3
    assert spool.drop_counts() == {}
    _, total, _ = (int(p) for p in tally.read_text().split())
    assert total == sum(os.path.getsize(os.path.join(spool.path, n)) for n in spool.files())


def test_a_damaged_tally_means_a_full_look(isolated_home: Path) -> None:
    spool = Spool(APP)
    spool.write(header(), spans(1))
    (Path(spool.path) / "tally").write_bytes(b"\x00garbage")
    old = os.path.join(spool.path, f"{time.time_ns() - 15 * 86400 * 10**9}-1-abcdef01.jsonl")
    Path(old).write_bytes(b'{"schema":"optel.spool/1"}\n{"t":"span"}\n{"t":"end","records":1}\n')
    spool.write(header(), spans(1))
    assert not os.path.exists(old)


def test_inits_look_for_flushes_names_them_as_the_spool_format_does() -> None:
    # optel._runtime spells the rule out to load no optel.spool for a spool without flushes.
    from optel._runtime import _waiting
    from optel.spool import waiting

    names = [
        "1796-12-0a1b2c3d.jsonl",
        "1796-12-0a1b2c3d.jsonl.claimed.77",
        "1796-12-0a1b2c3d.jsonl.tmp",
        "1796-12-0a1b2c3d.jsonl.dropping.77",
        "tally",
        "dropped",
        "backoff.0123456789abcdef",
        "uploader.lock",
        "quarantine",
        "first_version",
    ]
    assert [_waiting(name) for name in names] == [waiting(name) for name in names]
    assert [waiting(name) for name in names][:3] == [True, True, False]
