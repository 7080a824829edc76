"""The values of a consent decision: what the maintainer declared for it, and the frozen decision
(what was decided, by which source, and why)."""

from __future__ import annotations

from optel._terminal import LINE_LIMIT, shown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from optel.consent.declared import OffSwitch

MODES = ("off", "anonymous", "identified")

_FIELDS = (
    "mode",
    "reason",
    "source",
    "install_id",
    "user_id",
    "sampled",
    "ci_name",
    "agent_name",
    "user_file",
    "project_file",
    "consent_version",
)


class Consent:
    """One process's telemetry decision (docs/contract.md#consent).

    ``mode`` is ``off``, ``anonymous`` or ``identified``; ``source`` is a short stable key
    naming the row that decided (``DO_NOT_TRACK``, ``session_flag``, ``user_file``, ``ci``,
    ``prompt``, ...); ``reason`` is the same thing as a sentence for a person. ``sampled`` says
    whether the install id falls inside ``sample_percent`` (always False when the mode is off).
    ``user_file`` is ``""`` when there is no usable config directory.
    """

    __slots__ = _FIELDS

    mode: str
    reason: str
    source: str
    install_id: str | None
    user_id: str | None
    sampled: bool
    ci_name: str | None
    agent_name: str | None
    user_file: str
    project_file: str | None
    consent_version: int

    def __init__(
        self,
        mode: str,
        reason: str,
        source: str,
        install_id: str | None = None,
        *,
        user_id: str | None = None,
        sampled: bool = False,
        ci_name: str | None = None,
        agent_name: str | None = None,
        user_file: str = "",
        project_file: str | None = None,
        consent_version: int = 1,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"consent mode must be one of {MODES}, not {mode!r}")
        if mode == "off":
            # Nothing is sent for an off decision, whatever the sample says.
            sampled = False
        if mode != "identified":
            user_id = None
        put = object.__setattr__
        put(self, "mode", mode)
        # A reason quotes paths and values from files and the environment; hosts print it.
        put(self, "reason", shown(reason, LINE_LIMIT))
        put(self, "source", source)
        put(self, "install_id", install_id)
        put(self, "user_id", user_id)
        put(self, "sampled", bool(sampled))
        put(self, "ci_name", ci_name)
        put(self, "agent_name", agent_name)
        put(self, "user_file", user_file)
        put(self, "project_file", project_file)
        put(self, "consent_version", consent_version)

    @property
    def sending(self) -> bool:
        """True when data may leave the machine: the mode is not off and the install is sampled."""
        return self.mode != "off" and self.sampled

    def as_dict(self) -> dict[str, object]:
        """The fields as a plain dict (for JSON, the spool header, status output)."""
        return {name: getattr(self, name) for name in _FIELDS}

    def replace(self, **changes: object) -> Consent:
        """A copy with some fields changed."""
        values = self.as_dict()
        unknown = set(changes) - set(values)
        if unknown:
            raise TypeError(f"Consent has no field(s) {sorted(unknown)}")
        values.update(changes)
        mode = values.pop("mode")
        reason = values.pop("reason")
        source = values.pop("source")
        return Consent(mode, reason, source, **values)  # type: ignore[arg-type]

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Consent is frozen: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Consent is frozen: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Consent:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _FIELDS)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, name) for name in _FIELDS))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in _FIELDS)
        return f"Consent({inner})"

    def __reduce__(self) -> tuple[object, ...]:
        # Slots plus a raising __setattr__ defeat the default pickle protocol.
        values = self.as_dict()
        args = (values.pop("mode"), values.pop("reason"), values.pop("source"))
        return (_rebuild, (args, values))


def _rebuild(args: tuple[str, str, str], values: dict[str, object]) -> Consent:
    return Consent(*args, **values)  # type: ignore[arg-type]


class Declarations:
    """The consent settings a maintainer declared in ``optel.init()`` (checked by ``_settings``)."""

    __slots__ = ("answers", "confirm_flag", "notice", "off_switches")

    def __init__(
        self,
        *,
        notice: object = "terminal",
        off_switches: Sequence[OffSwitch] = (),
        answers: Mapping[str, str] | None = None,
        confirm_flag: bool = False,
    ) -> None:
        self.notice = notice
        self.off_switches = tuple(off_switches)
        self.answers = dict(answers) if answers else None
        self.confirm_flag = confirm_flag

    @property
    def headless_notice(self) -> bool:
        """Whether the opt-out notice may go where no terminal shows it (stderr or the tool's log)."""
        return self.notice != "terminal"


NONE = Declarations()
