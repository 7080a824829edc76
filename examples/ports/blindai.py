"""BlindAI's server telemetry, ported to optel (docs/porting.md): on unless
``BLINDAI_DISABLE_TELEMETRY=1``; the server mostly runs in Docker where nobody sees a terminal, so
the one-time notice goes to the server's log; new events leave every 2 seconds while it runs.

    python examples/ports/blindai.py serve --mode simulation --duration 5
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import optel
import optel.cli

APP = "blindai"
log = logging.getLogger("blindai")
SETTINGS = {
    "version": "0.5.2",
    "policy": "opt-out",
    "notice": log.warning,  # the server's log, not a terminal nobody watches
    "modes": ("off", "anonymous"),
    "off_switches": [optel.OffSwitch.env("BLINDAI_DISABLE_TELEMETRY")],
    "flush_interval": 2.0,  # BlindAI sends its new events every 2 seconds
    "attributes": (
        "blindai.mode",
        "blindai.model.name",
        "blindai.model.size",
        "blindai.client.user_agent",
    ),
}
# (seconds after start, request, model name, model size in bytes)
SCHEDULE = (
    (0.2, "upload_model", "resnet18", 46_827_520),
    (0.4, "run_model", "resnet18", 0),
    (3.0, "run_model", "resnet18", 0),
)


@optel.timed("upload_model")
def upload_model(name: str, size: int, model: bytes, client: str) -> None:
    optel.event(
        "model.uploaded",
        **{
            "blindai.model.name": name,
            "blindai.model.size": size,
            "blindai.client.user_agent": client,
        },
    )
    time.sleep(0.01)


@optel.timed("run_model")
def run_model(name: str, data: bytes, client: str) -> None:
    optel.event("model.run", **{"blindai.model.name": name, "blindai.client.user_agent": client})
    time.sleep(0.005)


def serve(mode: str, duration: float) -> None:
    started = time.monotonic()
    optel.event("server.started", **{"blindai.mode": mode})
    log.info("BlindAI server started in %s mode", mode)
    for at, request, name, size in SCHEDULE:
        if at > duration:
            break
        time.sleep(max(0.0, started + at - time.monotonic()))
        client = "blindai-python/0.5.2"
        if request == "upload_model":
            upload_model(name, size, b"\x00weights of a private model", client)
        else:
            run_model(name, b"private input from https://hospital.example/patient/7", client)
    time.sleep(max(0.0, started + duration - time.monotonic()))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(name)s %(levelname)s %(message)s"
    )
    parser = argparse.ArgumentParser(prog=APP)
    commands = parser.add_subparsers(dest="command", required=True)
    server = commands.add_parser("serve", help="run the server")
    server.add_argument("--mode", choices=("hardware", "simulation", "dcsv3"), default="simulation")
    server.add_argument("--duration", type=float, default=5.0)
    # `blindai telemetry status|disable|...`, and consent decided while the command line is parsed.
    optel.cli.add_argparse(parser, APP, **SETTINGS)
    args = parser.parse_args(argv)
    serve(args.mode, args.duration)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
