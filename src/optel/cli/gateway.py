"""`optel gateway`: run rotel with optel's processors (allow-list, scrubbing, pseudonymised install ids)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

HELP = "run the ingestion gateway: rotel with optel's privacy processors (pip install 'optel[gateway]')"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--exporter-endpoint", required=True, metavar="URL",
        help="where the cleaned OTLP goes (rotel appends /v1/traces and /v1/metrics for http)",
    )  # fmt: skip
    parser.add_argument("--exporter-protocol", choices=("http", "grpc"), default="http")
    parser.add_argument(
        "--http-endpoint", default="127.0.0.1:4318", metavar="HOST:PORT",
        help="OTLP/HTTP receiver (default 127.0.0.1:4318: put a TLS proxy in front, see collector/README.md)",
    )  # fmt: skip
    parser.add_argument("--grpc-endpoint", default="127.0.0.1:4317", metavar="HOST:PORT")
    parser.add_argument(
        "--allow-attribute", action="append", default=[], metavar="KEY",
        help="an attribute key to keep besides optel's data dictionary (your app's own); repeatable",
    )  # fmt: skip
    parser.add_argument(
        "--allowed-services", metavar="REGEX", default=None,
        help="drop data whose service.name does not match (default: $OPTEL_GATEWAY_ALLOWED_SERVICES, else all pass)",
    )  # fmt: skip
    parser.add_argument(
        "--batch-timeout", metavar="DURATION", help="rotel's batch timeout, e.g. 200ms"
    )
    parser.add_argument("--pid-file", metavar="FILE", help="rotel's pid file")
    parser.add_argument("--log-file", metavar="FILE", help="rotel's log file")


def run(args: argparse.Namespace) -> int:
    from optel.gateway import launcher

    try:
        argv = launcher.command(
            exporter_endpoint=args.exporter_endpoint,
            http_endpoint=args.http_endpoint,
            grpc_endpoint=args.grpc_endpoint,
            exporter_protocol=args.exporter_protocol,
            batch_timeout=args.batch_timeout,
            pid_file=args.pid_file,
            log_file=args.log_file,
        )
        env = launcher.environment(allow=args.allow_attribute, services=args.allowed_services)
    except launcher.GatewayError as exc:
        sys.stderr.write(f"optel gateway: {exc}\n")
        return 2
    launcher.exec_gateway(argv, env)
    return 0
