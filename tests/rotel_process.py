"""Runs rotel (a collector from PyPI) on loopback ports, forwarding OTLP/HTTP, for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional

from optel.gateway.launcher import rotel_binary, with_libpython


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts_connections(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def running_rotel(
    forward_to_url: str,
    *,
    batch_timeout: str = "50ms",
    startup_timeout: float = 15.0,
    log_dir: Optional[Path] = None,
    grpc: bool = False,
) -> Iterator[str]:
    """Starts rotel with a setup equivalent to collector/local.yaml and yields its OTLP/HTTP URL
    (with ``grpc=True``, the ``http://127.0.0.1:PORT`` of its OTLP/gRPC receiver instead).

    rotel listens for OTLP (HTTP and gRPC) on free loopback ports only and forwards everything
    it receives, as OTLP/HTTP protobuf, to ``forward_to_url`` (a base URL: rotel appends
    /v1/traces and /v1/metrics). Batches are flushed after ``batch_timeout`` so tests do not
    wait. The process is always stopped on exit; if it does not come up, RuntimeError carries
    the tail of its log.
    """
    http_port, grpc_port = free_port(), free_port()
    with contextlib.ExitStack() as stack:
        if log_dir is None:
            log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rotel-")))
        log_path = log_dir / "rotel.log"
        command = [
            str(rotel_binary()),
            "start",
            "--otlp-http-endpoint",
            f"127.0.0.1:{http_port}",
            "--otlp-grpc-endpoint",
            f"127.0.0.1:{grpc_port}",
            "--exporter",
            "otlp",
            "--otlp-exporter-endpoint",
            forward_to_url,
            "--otlp-exporter-protocol",
            "http",
            "--batch-timeout",
            batch_timeout,
            # rotel's defaults are fixed paths under /tmp: parallel runs would share them.
            "--pid-file",
            str(log_dir / "rotel.pid"),
            "--log-file",
            str(log_dir / "rotel-agent.log"),
        ]
        # Only what rotel needs: no ROTEL_* or OTEL_* setting of the developer leaks in.
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("ROTEL_", "OTEL_"))
        }
        # rotel-agent links the libpython of the Python it was built for (pyenv's is outside the
        # loader's path): the same environment optel's gateway launcher gives it.
        with_libpython(env)
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        try:
            deadline = time.monotonic() + startup_timeout
            # Both receivers: a test may send to either, and rotel opens them one after the other.
            while not (_accepts_connections(http_port) and _accepts_connections(grpc_port)):
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"rotel did not start (exit {process.poll()}):\n{tail}")
                time.sleep(0.05)
            yield f"http://127.0.0.1:{grpc_port if grpc else http_port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
