"""The checked settings of one ``optel.init()`` call: the only place optel raises (on misuse)."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

POLICIES = ("opt-in", "opt-out")
MODES = ("off", "anonymous", "identified")


def app_name_problem(app: str) -> str | None:
    """What is wrong with ``app`` as an app name (to follow "app "), or None when it is usable.

    The name becomes a directory under the user's config and cache dirs, and `optel reset`
    deletes files there: anything that could point elsewhere is refused, by init() and the CLI.
    """
    if not app.strip():
        return "must not be empty"
    if os.sep in app or (os.altsep and os.altsep in app):
        return f"{app!r} names a directory, so it cannot contain a path separator"
    if app in (".", ".."):
        return f"{app!r} is not a name a directory can have"
    if "\0" in app:
        return f"{app!r} contains a NUL character"
    return None


def endpoint_problem(endpoint: object, *, scheme_required: bool = True) -> str | None:
    """What is wrong with ``endpoint`` as a collector URL (to follow "endpoint "), or None.

    ``init()`` requires ``http://`` or ``https://``, a host, and a URL the uploader reads as it
    sends (``optel._urls``: a port from 0 to 65535, a bracketed host that is an IPv6 address): a
    scheme-less value would be read by the exporters as a path or a gRPC target, and a malformed
    one would fail only later, in the uploader, where the host's maintainer does not look. The
    uploader checks spool headers with the same rule, loosened for the scheme-less gRPC targets
    (``collector:4317``) an ``OTEL_EXPORTER_OTLP_ENDPOINT`` may hold.
    """
    if not isinstance(endpoint, str):
        return f"must be a string, not {type(endpoint).__name__}"
    from optel._urls import NO_HOST, split, without_userinfo

    # Quoted without its `user:password@`: a message may end up in a host's crash report or log.
    shown = repr(without_userinfo(endpoint))
    if not endpoint or any(ch.isspace() or not ch.isprintable() for ch in endpoint):
        return f"must be a URL without spaces or control characters, not {shown}"
    scheme, sep, _ = endpoint.partition("://")
    if not sep and not scheme_required and "/" not in endpoint:
        return None
    if not sep or scheme.lower() not in ("http", "https"):
        return f"must be an http:// or https:// URL (such as https://collector.example.com:4318), not {shown}"
    try:
        split(endpoint)
    except ValueError as exc:
        if str(exc) == NO_HOST:
            return f"must name a host after {scheme}://, not {shown}"
        return f"must be a URL optel can send to ({exc}), not {shown}"
    return None


def _percent(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"optel.init(): {name} must be a number from 0 to 100, not {value!r}")
    number = float(value)
    if not 0.0 <= number <= 100.0:
        raise ValueError(f"optel.init(): {name} must be from 0 to 100, not {value!r}")
    return number


def _optional_str(name: str, value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"optel.init(): {name} must be a string or None, not {type(value).__name__}")


def _path(name: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if isinstance(path, str) and path:
            return path
    raise TypeError(f"optel.init(): {name} must be a path (str or os.PathLike), not {value!r}")


def _modes(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not _iterable(value):
        raise TypeError(f"optel.init(): modes must be a sequence of mode names, not {value!r}")
    modes: tuple[object, ...] = tuple(value)  # type: ignore[arg-type]
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"optel.init(): unknown mode {mode!r}; modes are {', '.join(MODES)}")
    if not any(m != "off" for m in modes):
        raise ValueError("optel.init(): modes must offer 'anonymous' or 'identified'")
    return tuple(str(m) for m in dict.fromkeys(modes))


def _iterable(value: object) -> bool:
    try:
        iter(value)  # type: ignore[call-overload]
    except TypeError:
        return False
    return True


def _headers(value: object) -> dict[str, str] | None:
    if value is None:
        return None
    items = getattr(value, "items", None)
    if items is None:
        raise TypeError(f"optel.init(): headers must be a mapping of str to str, not {value!r}")
    headers: dict[str, str] = {}
    for key, item in items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise TypeError("optel.init(): headers must map str to str")
        headers[key] = item
    if headers:
        # The uploader's own rule (optel/_urls.py): a header it would refuse to send fails here,
        # on the maintainer's first run, not in every upload for 14 days.
        from optel._urls import header_problem

        for key, item in headers.items():
            problem = header_problem(key, item)
            if problem is not None:
                raise ValueError(f"optel.init(): headers: {problem}")
    return headers


def _names(value: object) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str) or not _iterable(value):
        raise TypeError(f"optel.init(): attributes must be a sequence of names, not {value!r}")
    names: tuple[object, ...] = tuple(value)  # type: ignore[arg-type]
    for name in names:
        if not isinstance(name, str) or not name:
            raise TypeError(
                f"optel.init(): attribute names must be non-empty strings, not {name!r}"
            )
    return frozenset(str(n) for n in names)


def _notice(value: object, policy: str) -> object:
    if value == "terminal" or value == "stderr" or (callable(value) and not isinstance(value, str)):
        if value != "terminal" and policy != "opt-out":
            raise ValueError(
                "optel.init(): notice is the opt-out policy's notice; it needs policy='opt-out'"
            )
        return value
    raise ValueError(
        f"optel.init(): notice must be 'terminal', 'stderr' or a function that logs a line, not {value!r}"
    )


def _off_switches(value: object) -> tuple[object, ...]:
    if value is None:
        return ()
    from optel.consent.declared import OffSwitch

    if isinstance(value, (str, bytes, OffSwitch)) or not _iterable(value):
        raise TypeError(
            f"optel.init(): off_switches must be a sequence of optel.OffSwitch, not {value!r}"
        )
    switches: tuple[object, ...] = tuple(value)  # type: ignore[arg-type]
    for switch in switches:
        if not isinstance(switch, OffSwitch):
            raise TypeError(
                f"optel.init(): {switch!r} is not an optel.OffSwitch (OffSwitch.env(...) or OffSwitch.file(...))"
            )
    return switches


def _answers(value: object, modes: tuple[str, ...]) -> dict[str, str] | None:
    if value is None:
        return None
    items = getattr(value, "items", None)
    if items is None:
        raise TypeError(
            f"optel.init(): answers must map what the user types to a mode, not {value!r}"
        )
    answers: dict[str, str] = {}
    for word, mode in items():
        if not isinstance(word, str) or not word.strip():
            # Enter is off, always: an empty answer cannot be given another meaning.
            raise ValueError(f"optel.init(): an answer must be a non-empty word, not {word!r}")
        if mode != "later" and (mode not in MODES or (mode != "off" and mode not in modes)):
            raise ValueError(
                f"optel.init(): answer {word!r} must mean 'later' or a mode the app offers ({', '.join(modes)}), "
                f"not {mode!r}"
            )
        answers[word.strip().lower()] = str(mode)
    return answers or None


class Settings:
    """What the host asked for in ``optel.init()``, checked (see ``Settings.check``)."""

    __slots__ = (
        "answers",
        "app",
        "ask_percent",
        "attributes",
        "confirm_flag",
        "consent_version",
        "endpoint",
        "flush_interval",
        "headers",
        "log_file",
        "modes",
        "notice",
        "off_switches",
        "policy",
        "project_dir",
        "sample_percent",
        "scrub",
        "session_flag",
        "version",
        "version_module",
    )

    app: str
    version: str | None
    version_module: str | None
    endpoint: str | None
    policy: str
    ask_percent: float
    sample_percent: float
    modes: tuple[str, ...]
    session_flag: bool | None
    headers: dict[str, str] | None
    log_file: str | None
    flush_interval: float | None
    consent_version: int
    scrub: object
    attributes: frozenset[str]
    project_dir: str | None
    notice: object
    off_switches: tuple[object, ...]
    answers: dict[str, str] | None
    confirm_flag: bool

    @classmethod
    def check(
        cls,
        app: object,
        *,
        version: object = None,
        version_module: str | None = None,
        endpoint: object = None,
        policy: object = "opt-in",
        ask_percent: object = 100.0,
        sample_percent: object = 100.0,
        modes: object = MODES,
        session_flag: object = None,
        headers: object = None,
        log_file: object = None,
        flush_interval: object = None,
        consent_version: object = 1,
        scrub: object = None,
        attributes: object = None,
        project_dir: object = None,
        notice: object = "terminal",
        off_switches: object = None,
        answers: object = None,
        confirm_flag: object = False,
    ) -> Settings:
        """Check every argument; TypeError for a wrong type, ValueError for a wrong value."""
        self = cls.__new__(cls)
        self.app = _app(app)
        self.version = _optional_str("version", version)
        self.version_module = version_module
        self.endpoint = _endpoint(endpoint)
        self.policy = _policy(policy)
        self.ask_percent = _percent("ask_percent", ask_percent)
        self.sample_percent = _percent("sample_percent", sample_percent)
        self.modes = _modes(modes)
        self.session_flag = _flag("session_flag", session_flag, "True, False or None", none=True)
        self.headers = _headers(headers)
        self.log_file = _path("log_file", log_file)
        self.flush_interval = _flush_interval(flush_interval)
        self.consent_version = _consent_version(consent_version)
        if scrub is not None and (isinstance(scrub, (str, bytes)) or not _iterable(scrub)):
            raise TypeError(f"optel.init(): scrub must be a sequence of rules, not {scrub!r}")
        self.scrub = scrub
        self.attributes = _names(attributes)
        self.project_dir = _path("project_dir", project_dir)
        self.notice = _notice(notice, self.policy)
        self.off_switches = _off_switches(off_switches)
        self.answers = _answers(answers, self.modes)
        self.confirm_flag = bool(_flag("confirm_flag", confirm_flag, "True or False"))
        return self

    def declarations(self) -> object:
        """The consent settings beyond the defaults, as ``optel.consent`` takes them."""
        from optel.consent.value import Declarations

        return Declarations(
            notice=self.notice,
            off_switches=self.off_switches,  # type: ignore[arg-type]
            answers=self.answers,
            confirm_flag=self.confirm_flag,
        )

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'<hidden>' if name == 'headers' and self.headers else getattr(self, name)!r}"
            for name in self.__slots__
        )
        return f"Settings({shown})"

    def export(self) -> dict[str, object]:
        """The header's ``export`` part: where the uploader sends, and with what headers."""
        return {"endpoint": self.endpoint, "headers": dict(self.headers) if self.headers else None}

    def header_settings(self) -> dict[str, object]:
        """The header's ``settings`` part (docs/spool-format.md#lines-of-a-spool-file)."""
        return {
            "policy": self.policy,
            "sample_percent": self.sample_percent,
            "consent_version": self.consent_version,
            "version_module": self.version_module,
        }


def caller_module(globals_: Mapping[str, object]) -> str | None:
    """The top-level package of the module whose globals these are (for the version lookup)."""
    name = globals_.get("__name__")
    if name == "__main__":
        spec = globals_.get("__spec__")
        name = getattr(spec, "name", None) or globals_.get("__package__")
    if not isinstance(name, str) or not name or name == "__main__":
        return None
    top = name.partition(".")[0]
    return top or None


def _app(app: object) -> str:
    if not isinstance(app, str):
        raise TypeError(f"optel.init(): app must be a string, not {type(app).__name__}")
    problem = app_name_problem(app)
    if problem is not None:
        raise ValueError(f"optel.init(): app {problem}")
    return app


def _endpoint(value: object) -> str | None:
    endpoint = _optional_str("endpoint", value)
    problem = None if endpoint is None else endpoint_problem(endpoint)
    if problem is not None:
        raise ValueError(f"optel.init(): endpoint {problem}")
    return endpoint


def _policy(policy: object) -> str:
    if not isinstance(policy, str):
        raise TypeError(f"optel.init(): policy must be 'opt-in' or 'opt-out', not {policy!r}")
    if policy not in POLICIES:
        raise ValueError(f"optel.init(): policy must be 'opt-in' or 'opt-out', not {policy!r}")
    return policy


def _flag(name: str, value: object, allowed: str, *, none: bool = False) -> bool | None:
    if (value is None and none) or isinstance(value, bool):
        return value
    raise TypeError(f"optel.init(): {name} must be {allowed}, not {value!r}")


def _flush_interval(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"optel.init(): flush_interval must be seconds (a number), not {value!r}")
    if not value > 0 or value == float("inf"):
        raise ValueError(
            f"optel.init(): flush_interval must be a positive number of seconds, not {value!r}"
        )
    return float(value)


def _consent_version(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"optel.init(): consent_version must be an int, not {value!r}")
    if value < 1:
        raise ValueError(f"optel.init(): consent_version must be 1 or more, not {value!r}")
    return value
