"""The detached uploader a host starts imports only what its run needs: no argparse (its command
line is parsed by upload/detached.py), no logging or typing while nothing is logged, no protobuf
at all (upload/wire.py writes the requests). Run as the host runs it (spool/process.py's exact command), in a real
process whose imports are written down at exit."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from optel.spool.files import Spool
from optel.spool.process import uploader_command
from optel.spool.writer import destination
from otlp_receiver import OTLPReceiver
from rotel_process import free_port
from test_upload import APP, header, invocation, spans

# Put before the bootstrap: the modules of the run, written where MODULES_AT_EXIT says (`-I`
# ignores PYTHON* variables only). One name a line: importing `json` here would hide its import.
AT_EXIT = (
    "import atexit, os, sys\n"
    "atexit.register(lambda: open(os.environ['MODULES_AT_EXIT'], 'w').write('\\n'.join(sorted(sys.modules))))\n"
)
# Nothing the detached path needs when it cannot send: each was seen on it before.
NOT_NEEDED = ("argparse", "logging", "typing", "datetime", "shutil", "lzma", "google.protobuf")
# What a run that sends over plain HTTP does without, though each would have been the obvious
# import: together ~60 M instructions, a third of such a run (docs/internals.md, delivery). The
# C modules underneath (`_json`, `_socket`, `_thread`, `binascii`) do the work.
STANDARD_NOT_NEEDED = (
    "json", "re", "enum", "socket", "selectors", "urllib", "ipaddress", "threading",
    "collections", "functools", "contextlib", "base64", "http", "email", "ssl",
)  # fmt: skip


def run_detached(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    out = tmp_path / "modules.json"
    argv = uploader_command(APP, str(tmp_path))
    assert argv[3].startswith("import os, sys")  # the bootstrap, run as the host runs it
    argv[3] = AT_EXIT + argv[3]
    env = dict(os.environ, MODULES_AT_EXIT=str(out))
    done = subprocess.run([*argv, *extra], env=env, capture_output=True, text=True, timeout=60)
    return done, set(out.read_text().split())


def imported(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in modules))


def test_an_offline_detached_run_imports_no_parser_logging_or_encoder(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    spool = Spool(APP)
    assert spool.write(header(endpoint), [*spans(3), invocation()]) is not None
    done, modules = run_detached(tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert imported(modules, (*NOT_NEEDED, *STANDARD_NOT_NEEDED, "optel.cli")) == []
    assert "optel.upload.detached" in modules
    # It did its work all the same: the file is kept, the destination backs off.
    assert len(spool.files()) == 1
    assert spool.backoff_until(destination({"endpoint": endpoint, "headers": None})) is not None


def test_an_empty_spool_ends_the_run_before_any_connect(tmp_path: Path) -> None:
    done, modules = run_detached(tmp_path)
    assert done.returncode == 0
    assert imported(modules, (*NOT_NEEDED, "optel.cli", "socket")) == []


def test_an_online_detached_run_sends_without_the_cli_parser(tmp_path: Path) -> None:
    with OTLPReceiver() as receiver:
        spool = Spool(APP)
        assert spool.write(header(receiver.url), [*spans(3), invocation()]) is not None
        done, modules = run_detached(tmp_path)
        assert done.returncode == 0
        assert len(receiver.accepted("/v1/traces")) == 1
    assert spool.files() == []
    assert imported(modules, ("argparse", "optel.cli", *STANDARD_NOT_NEEDED)) == []


def test_an_online_run_sends_the_sdk_encoders_bytes_without_protobuf_logging_or_typing(
    tmp_path: Path,
) -> None:
    # The request is written by upload/wire.py: the collector gets byte for byte what the SDK's
    # encoder makes of the same spans, and the run never imports protobuf, opentelemetry, logging
    # or typing.
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource

    from test_upload_speed import naive_span

    rich = {
        **spans(3)[2], "kind": "client", "status": "error", "status_message": "ValueError: é",
        "attributes": {"step.name": "ß", "n": -5, "ok": False, "ratio": -0.0, "tags": ["a", "é"], "big": 2**63 - 1},
        "events": [{"name": "exception", "time_ns": 7, "attributes": {"exception.type": "ValueError"}}],
    }  # fmt: skip
    records = [*spans(2), rich]
    with OTLPReceiver() as receiver:
        spool = Spool(APP)
        assert spool.write(header(receiver.url), [*records, invocation()]) is not None
        done, modules = run_detached(tmp_path)
        assert done.returncode == 0
        [traces] = receiver.accepted("/v1/traces")
        got = receiver.spans()
        [point] = receiver.metrics()
    assert spool.files() == []
    assert imported(modules, ("google.protobuf", "opentelemetry", "logging", "typing")) == []
    resource = Resource(got[0]["resource"])
    assert (
        traces.body == encode_spans([naive_span(r, resource) for r in records]).SerializeToString()
    )
    assert resource.attributes["service.name"] == APP
    assert (point["name"], point["type"], point["value"], point["attributes"]) == (
        "optel.cli.command.invocations", "sum", 1, {"command.name": "go", "outcome": "success"},
    )  # fmt: skip


def test_a_command_line_it_does_not_know_goes_to_the_full_cli(tmp_path: Path) -> None:
    done, modules = run_detached(tmp_path, "--bogus")
    assert done.returncode == 2
    assert (
        done.stderr == "optel: error: unrecognized arguments: --bogus (see optel upload --help)\n"
    )
    assert "argparse" in modules


def test_the_lean_parser_takes_exactly_the_host_s_command_line() -> None:
    from optel.upload.detached import parse

    argv = uploader_command(APP, "/nowhere")
    assert parse(argv[argv.index("upload") :]) == {"app": APP, "project_dir": os.getcwd()}
    assert parse(["upload", "--detached", f"--app={APP}", "--max-seconds", "5"]) == {
        "app": APP,
        "max_seconds": "5",
    }
    for other in (
        ["upload", "--app", APP],  # foreground: the CLI prints its summary
        ["upload", "--detached"],  # the CLI's default app
        ["upload", "--app", APP, "--detached", "--max-seconds", "soon"],
        ["upload", "--app", "../x", "--detached"],
        ["upload", "--app", APP, "--app", APP, "--detached"],
        ["status", "--detached"],
    ):
        assert parse(other) is None, other
