"""PipeRider's CLI telemetry, ported to optel (docs/porting.md): on unless ``anonymous_tracking:
false`` in ``~/.piperider/profile.yml``; per project, off once the project's ``telemetry.id`` is
removed from ``.piperider/config.yml``; counts per command (tables, columns, rows, assertions).

    python examples/ports/piperider.py init
    python examples/ports/piperider.py run --tables 3
"""

from __future__ import annotations

import argparse
import os
import uuid

import optel

APP = "piperider"
PROJECT_CONFIG = os.path.join(".piperider", "config.yml")
SETTINGS = {
    "version": "0.33.0",
    "policy": "opt-out",
    "notice": "stderr",
    "modes": ("off", "anonymous"),
    "off_switches": [
        optel.OffSwitch.file("~/.piperider/profile.yml", "anonymous_tracking"),
        # A project whose config has no telemetry id is not tracked (a relative path: the project's).
        optel.OffSwitch.file(PROJECT_CONFIG, "telemetry.id", off=optel.OffSwitch.ABSENT),
    ],
    "attributes": ("piperider.datasource.type",),
}
COUNTS = (
    "tables",
    "columns",
    "rows",
    "assertions.builtin",
    "assertions.custom",
    "assertions.passed",
    "assertions.failed",
)
METRICS = {
    name: optel.metric(f"piperider.{name}", unit="1", attributes=("command.name",))
    for name in COUNTS
}


def create_project() -> None:
    """`piperider init`: the project config, with its telemetry id, as PipeRider writes it."""
    os.makedirs(".piperider", exist_ok=True)
    with open(PROJECT_CONFIG, "w", encoding="utf-8") as f:
        f.write(
            f"dataSources:\n  - name: warehouse\n    type: postgres\ntelemetry:\n  id: {uuid.uuid4().hex}\n"
        )


def measure(command: str, counts: dict[str, int]) -> None:
    for name, value in counts.items():
        METRICS[name].add(value, **{"command.name": command})


def run(args: argparse.Namespace) -> int:
    @optel.command(args.command)
    def command() -> int:
        optel.event("datasource", **{"piperider.datasource.type": args.datasource})
        tables = args.tables
        passed, failed = tables * 4, 1 if args.fail else 0
        measure(args.command, {
            "tables": tables, "columns": tables * 6, "rows": tables * 1000,
            "assertions.builtin": tables * 3, "assertions.custom": tables,
            "assertions.passed": passed, "assertions.failed": failed,
        })  # fmt: skip
        return 1 if failed else 0

    return command()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=APP)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", help="create a PipeRider project here")
    for name in ("run", "generate-assertions", "generate-report"):
        sub = commands.add_parser(name)
        sub.add_argument("--tables", type=int, default=2)
        sub.add_argument("--datasource", default="postgres")
        sub.add_argument("--fail", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "init":
        create_project()
    optel.init(APP, **SETTINGS)  # type: ignore[arg-type]
    if args.command == "init":
        optel.event("project.created")
        return 0
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
