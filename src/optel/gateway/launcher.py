"""Starts rotel (``pip install 'optel[gateway]'``) as optel's gateway: OTLP in, optel's processors, OTLP out.

rotel's receiver has neither TLS nor authentication: it listens on loopback by default, and a
reverse proxy in front (collector/gateway-proxy.conf) terminates TLS and checks the token.
The salt for the install ids comes from the environment only, never from the command line
(where ``ps`` would show it).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import sysconfig
from pathlib import Path
from typing import Optional, Sequence

from optel.gateway import policy

PROCESSOR = Path(__file__).with_name("processor.py")


class GatewayError(Exception):
    """A setting or an installation problem, said in one line."""


def rotel_binary() -> Path:
    """The rotel-agent executable shipped inside the ``rotel`` wheel (found without importing it)."""
    spec = importlib.util.find_spec("rotel")
    if spec is None or spec.origin is None:
        raise GatewayError("rotel is not installed: pip install 'optel[gateway]'")
    binary = Path(spec.origin).parent / "rotel-agent"
    if not binary.is_file():
        raise GatewayError(f"rotel is installed but {binary} is missing")
    return binary


def _endpoint(value: str, option: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise GatewayError(f"{option} must be HOST:PORT, got {value!r}")
    return value


def command(
    *,
    exporter_endpoint: str,
    http_endpoint: str = "127.0.0.1:4318",
    grpc_endpoint: str = "127.0.0.1:4317",
    exporter_protocol: str = "http",
    batch_timeout: Optional[str] = None,
    pid_file: Optional[str] = None,
    log_file: Optional[str] = None,
) -> list[str]:
    """The rotel-agent command line for these settings."""
    if not exporter_endpoint.startswith(("http://", "https://")):
        raise GatewayError(
            f"--exporter-endpoint must be an http:// or https:// URL, got {exporter_endpoint!r}"
        )
    argv = [
        str(rotel_binary()), "start",
        "--otlp-http-endpoint", _endpoint(http_endpoint, "--http-endpoint"),
        "--otlp-grpc-endpoint", _endpoint(grpc_endpoint, "--grpc-endpoint"),
        "--otlp-with-trace-processor", str(PROCESSOR),
        "--otlp-with-metrics-processor", str(PROCESSOR),
        # optel sends no logs, and nothing would clean them: refuse them, as gateway.yaml does.
        "--otlp-receiver-logs-disabled",
        "--exporter", "otlp",
        "--otlp-exporter-endpoint", exporter_endpoint,
        "--otlp-exporter-protocol", exporter_protocol,
    ]  # fmt: skip
    for flag, value in (
        ("--batch-timeout", batch_timeout),
        ("--pid-file", pid_file),
        ("--log-file", log_file),
    ):
        if value:
            argv += [flag, value]
    return argv


def environment(
    base: Optional[dict[str, str]] = None,
    *,
    allow: Sequence[str] = (),
    services: Optional[str] = None,
) -> dict[str, str]:
    """rotel's environment: optel importable by its interpreter, and the processors' settings."""
    env = dict(os.environ if base is None else base)
    # rotel reads ROTEL_* as options: only the command line decides.
    env = {key: value for key, value in env.items() if not key.startswith("ROTEL_")}
    # The processors import optel and the standard library only: the directory optel is in (src/
    # or site-packages) is all rotel's interpreter needs.
    paths = [str(Path(__file__).resolve().parents[2])]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    with_libpython(env)
    if allow:
        env[policy.ALLOW_ENV] = ",".join(allow)
    if services is not None:
        env[policy.SERVICES_ENV] = services
    problem = policy.settings_problem(
        env.get(policy.SALT_ENV, ""), env.get(policy.SERVICES_ENV, "")
    )
    if problem:
        raise GatewayError(problem)
    return env


def exec_gateway(argv: list[str], env: dict[str, str]) -> None:
    """Becomes rotel: signals (SIGTERM from a service manager) reach it directly."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, env)


def with_libpython(env: dict[str, str]) -> dict[str, str]:
    """``env`` with this Python's library directory first on ``LD_LIBRARY_PATH``, in place.

    rotel-agent embeds the interpreter it was installed with and links its shared libpython;
    a build whose libpython is outside the loader's path (pyenv's, a custom prefix) would not
    start without it.
    """
    libdir = sysconfig.get_config_var("LIBDIR")
    if libdir:
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            dict.fromkeys(filter(None, [str(libdir), env.get("LD_LIBRARY_PATH")]))
        )
    return env
