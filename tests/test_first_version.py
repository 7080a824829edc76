"""The uploader notes the first version installed (PipeRider's install fact): the first batch with a
known `service.version` notes it in the spool's `first_version` state file and carries
`optel.install.first_version`; later batches get it back; nothing is noted when consent is
withdrawn, the version is unknown, or the user file does not hold the batch's install. The
user's consent file is never written by the uploader (docs/consent.md)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import optel
import optel.upload
from optel import _paths, _runtime
from optel.consent import UserStore
from optel.spool.lock import TOKEN_ENV, acquire_lock
from otlp_receiver import OTLPReceiver

APP = "vertool"
INSTALL_ID = "0b7f3c52-7d36-4c5e-9d2a-6f1f7f0f7a10"
USER_FILE = (
    'mode = "anonymous"\n'
    f'install_id = "{INSTALL_ID}"\n'
    'decided_at = "2026-01-01T00:00:00Z"\n'
    "consent_version = 1\n"
    'salt = "00112233445566778899aabbccddeeff"\n'
    'first_seen = "2026-01-01T00:00:00Z"\n'
)
FIRST = "optel.install.first_version"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as running:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", running.url)
        yield running
    _runtime.reset()


def _write_user_file(text: str = USER_FILE) -> str:
    path = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def _noted() -> str | None:
    """The first version the spool holds for this install."""
    from optel.spool.files import Spool

    return Spool(APP).first_version(INSTALL_ID)


def _stored() -> dict[str, object]:
    table = UserStore(_paths.user_config_file(APP)).read()
    assert isinstance(table, dict)
    return table


def _record_run(**init: Any) -> None:
    """One host run that spools a batch (no detached uploader: the test uploads in-process)."""
    spool = _paths.spool_dir(APP)
    os.makedirs(spool, mode=0o700, exist_ok=True)
    if not os.path.exists(os.path.join(spool, "uploader.lock")):
        assert acquire_lock(spool, os.getpid(), "test")
    optel.init(APP, **init)

    @optel.command("build")
    def build() -> None:
        pass

    build()
    optel.shutdown()
    _runtime.reset()


def _upload() -> optel.upload.UploadSummary:
    os.environ[TOKEN_ENV] = "test"
    try:
        return optel.upload.upload(APP)
    finally:
        os.environ.pop(TOKEN_ENV, None)


def _resources(receiver: OTLPReceiver) -> list[dict[str, Any]]:
    return [s["resource"] for s in receiver.spans() if s["name"] == "build"]


def test_the_first_upload_stores_the_version_and_sends_it_and_later_runs_keep_it(
    receiver: OTLPReceiver,
) -> None:
    _write_user_file()
    _record_run(version="1.4.0")
    summary = _upload()
    assert summary.files_sent == 1, summary
    (resource,) = _resources(receiver)
    assert resource[FIRST] == "1.4.0"
    assert _noted() == "1.4.0"
    assert "first_version" not in _stored()
    assert _stored()["install_id"] == INSTALL_ID

    # An upgrade: the uploader keeps the version it noted first.
    _record_run(version="2.0.0")
    assert _upload().files_sent == 1
    second = [r for r in _resources(receiver) if r["service.version"] == "2.0.0"]
    assert [r[FIRST] for r in second] == ["1.4.0"]
    assert _noted() == "1.4.0"


def test_batches_recorded_before_the_first_upload_all_get_the_oldest_version(
    receiver: OTLPReceiver,
) -> None:
    _write_user_file()
    _record_run(version="1.0.0")
    _record_run(version="1.1.0")
    summary = _upload()
    assert summary.files_sent == 2, summary
    by_version = {r["service.version"]: r[FIRST] for r in _resources(receiver)}
    assert by_version == {"1.0.0": "1.0.0", "1.1.0": "1.0.0"}
    assert _noted() == "1.0.0"


def test_nothing_is_stored_or_sent_when_consent_was_withdrawn_before_the_upload(
    receiver: OTLPReceiver,
) -> None:
    _write_user_file()
    _record_run(version="1.4.0")
    _write_user_file(USER_FILE.replace('mode = "anonymous"', 'mode = "off"'))
    summary = _upload()
    assert summary.withdrawn
    assert receiver.connections == 0
    assert _noted() is None


def test_nothing_is_stored_when_the_version_is_unknown(receiver: OTLPReceiver) -> None:
    _write_user_file()
    # No version=: the caller's package is this test module, which no distribution provides.
    _record_run()
    assert _upload().files_sent == 1
    (resource,) = _resources(receiver)
    assert "service.version" not in resource and FIRST not in resource
    assert _noted() is None


def test_a_run_raised_by_the_session_flag_is_one_install_with_its_first_version(
    receiver: OTLPReceiver,
) -> None:
    # The raised run stores the install id (issue 13: one id per install), never a choice.
    _record_run(version="1.4.0", session_flag=True)
    assert _upload().files_sent == 1
    (resource,) = _resources(receiver)
    assert resource[FIRST] == "1.4.0"
    assert "mode" not in _stored()


def test_a_user_file_of_another_install_is_left_alone(receiver: OTLPReceiver) -> None:
    _write_user_file()
    _record_run(version="1.4.0")
    # `optel reset` made a new install between the run and its upload.
    other = USER_FILE.replace(INSTALL_ID, "11111111-2222-4333-8444-555555555555")
    _write_user_file(other)
    assert _upload().files_sent == 1
    (resource,) = _resources(receiver)
    assert FIRST not in resource
    assert _noted() is None


def test_the_uploader_leaves_the_user_file_as_it_was(receiver: OTLPReceiver) -> None:
    """The note that used to go into the user's consent file: the file keeps its bytes and mtime."""
    path = _write_user_file()
    _record_run(version="1.4.0")

    def state() -> tuple[bytes, int]:
        return Path(path).read_bytes(), os.stat(path).st_mtime_ns

    os.utime(
        path, (1_700_000_000, 1_700_000_000)
    )  # the host may have read it: only the upload counts
    before = state()
    assert _upload().files_sent == 1
    assert state() == before
    assert [r[FIRST] for r in _resources(receiver)] == ["1.4.0"]


def test_a_reset_forgets_the_noted_version_with_the_spool(receiver: OTLPReceiver) -> None:
    from optel.spool.files import Spool

    _write_user_file()
    _record_run(version="1.4.0")
    assert _upload().files_sent == 1
    assert _noted() == "1.4.0"
    Spool(APP).delete_all()
    assert _noted() is None
