"""What the consent mode allows in the identity attributes: never a host, user name or address; ``user.id`` only when identified."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

USER_ID = "user.id"
# OpenTelemetry attribute names that carry a machine's or a person's identity or address. None of
# them is ever sent, whatever the mode (docs/contract.md#what-is-collected: no host name, user name
# or IP).
FORBIDDEN_KEYS = frozenset(
    (
        "host.name",
        "host.id",
        "host.ip",
        "host.mac",
        "host.hostname",
        "host.image.id",
        "user.name",
        "user.full_name",
        "user.email",
        "user.hash",
        "user.roles",
        "enduser.id",
        "enduser.role",
        "enduser.scope",
        "client.address",
        "client.port",
        "source.address",
        "destination.address",
        "server.address",
        "network.peer.address",
        "network.local.address",
        "net.peer.ip",
        "net.peer.name",
        "net.host.ip",
        "net.host.name",
        "net.sock.peer.addr",
        "net.sock.host.addr",
        "http.client_ip",
        "process.owner",
        "process.command_args",
        "process.command_line",
        "process.executable.path",
        "process.working_directory",
    )
)


def apply_mode(
    attributes: Mapping[str, object], mode: str, user_id: str | None = None
) -> dict[str, object]:
    """The attributes `mode` allows, as a new dict.

    ``off`` allows nothing; ``anonymous`` drops every identity key and any ``user.id``;
    ``identified`` does the same and then sets ``user.id`` to the id the user gave (if any), and
    only that. Call it after ``scrub_attributes``: the id the user typed for identified mode is
    theirs to send, and the scrubber would otherwise turn an e-mail id into ``<email>``.
    """
    if mode not in ("anonymous", "identified"):
        return {}
    kept = {k: v for k, v in attributes.items() if k not in FORBIDDEN_KEYS and k != USER_ID}
    if mode == "identified" and isinstance(user_id, str) and user_id.strip():
        kept[USER_ID] = user_id.strip()
    return kept
