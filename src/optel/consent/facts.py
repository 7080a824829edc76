"""What one consent decision is made from, gathered once, and the Consent values it builds.

The environment, the flags, CI and agent detection and the paths are read when the facts are
made; the project file and the stored choice only when a row first asks, so a decision that an
environment variable makes never opens a file (the host's ``optel.init()`` pays for every read).
"""

from __future__ import annotations

import os
import sys

from optel import _paths
from optel._env import app_env_prefix, parse_bool
from optel._terminal import PATH_LIMIT, shown
from optel.consent.detect import can_prompt, detect_agent, detect_ci
from optel.consent.files import Broken, find_project_file, read_project_mode, read_user_file
from optel.consent.value import MODES, NONE, Consent, Declarations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import TextIO

    from optel.consent.store import UserStore

_STORED = frozenset(
    [
        "stored",
        "table",
        "install_id",
        "stored_mode",
        "stored_user_id",
        "stored_version",
        "current",
        "stale",
    ]
)
_RANK = {"off": 0, "anonymous": 1, "identified": 2}

# What an on answer's reason gains when the app or the project file limits it, or the install
# falls outside the sample (``Facts.on``; listed in docs/consent.md).
LIMITS = {
    "no mode": ", but {app} offers no telemetry mode but off",
    "no identified": ", limited to anonymous because {app} does not offer identified",
    "project file": ", but the project file {path} limits it to {mode}",
    "sample": "; this install is outside the {percent}% of installs whose data is sent",
}


class Settings:
    """What the app (or the caller of ``resolve``/``preview``) says about how to decide."""

    __slots__ = (
        "ask_percent",
        "consent_version",
        "declared",
        "interactive",
        "modes",
        "policy",
        "prompt_timeout",
        "sample_percent",
        "session_flag",
        "stderr",
        "stdin",
        "stdout",
    )

    def __init__(
        self,
        *,
        policy: str = "opt-in",
        ask_percent: float = 100.0,
        sample_percent: float = 100.0,
        modes: Sequence[str] = MODES,
        session_flag: bool | None = None,
        consent_version: int = 1,
        interactive: bool | None = None,
        prompt_timeout: float = 30.0,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        declared: Declarations | None = None,
    ) -> None:
        # Any policy but opt-out is read as opt-in, the stricter one.
        self.policy = "opt-out" if policy == "opt-out" else "opt-in"
        self.ask_percent = ask_percent
        self.sample_percent = sample_percent
        self.modes = tuple(modes)
        self.session_flag = session_flag
        self.consent_version = consent_version
        self.interactive = interactive
        self.prompt_timeout = prompt_timeout
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.declared = NONE if declared is None else declared


class Facts:
    """Everything the rows read, computed once per decision.

    ``live`` is False for a decision that must not print, prompt or write (``preview``,
    ``withdrawn``, the uploader's ``in_force``): such facts never hold a ``writer``, the only way a
    row can change the user file.
    """

    def __init__(
        self,
        app: str,
        settings: Settings,
        environ: Mapping[str, str] | None,
        project_dir: str | None,
        live: bool,
    ) -> None:
        self.app = app
        self.s = settings
        self.env = os.environ if environ is None else environ
        self.project_dir = project_dir
        self.live = live
        self.opt_out = settings.policy == "opt-out"
        self.consent_version = settings.consent_version
        self.modes = settings.modes
        self.sample_percent = settings.sample_percent
        self.answers = settings.declared.answers
        # The tool's own off variable, named in its opt-out notice next to optel's.
        self.off_hint = next(
            (f"{s.where}=1" for s in settings.declared.off_switches if s.kind == "env"), None
        )
        names = frozenset(self.env)  # read once for both (see detect_agent)
        self.ci_name = detect_ci(self.env, names)
        self.agent_name = detect_agent(self.env, names)
        self.path_problem: str | None = None
        try:
            self.user_file = _paths.user_config_file(app)
        except OSError as exc:
            self.user_file = ""
            self.path_problem = shown(str(exc) or exc.__class__.__name__)
        self.project_file = find_project_file(app, project_dir)
        # The paths as reasons and warnings print them: a directory name is untrusted text.
        self.shown_user_file = shown(self.user_file, PATH_LIMIT)
        self.shown_project_file = shown(self.project_file, PATH_LIMIT)
        self._tty: bool | None = None

    # -- read on first need ------------------------------------------------------------------

    # Read on first need, by ``__getattr__``, then plain attributes: a decision the environment
    # makes never opens a file, and the rows read these many times.
    project: tuple[str, str | None]  # the most the project file allows, and its problem or None
    project_cap: str
    stored: dict[str, object] | Broken  # the user file ({} when nothing is stored or no config dir)
    table: dict[str, object]  # the stored table, {} when broken
    install_id: str | None  # the stored id; rows that store one set it
    stored_mode: object
    stored_user_id: str | None
    stored_version: int
    current: bool  # anonymous or identified, chosen for this consent_version or a later one
    stale: str | None  # why a stored on does not count: made for an older consent_version
    writer: UserStore | None  # the only way to write the user file: None unless live

    env_var: str  # <APP>_TELEMETRY
    env_value: str | None
    env_flag: bool | None
    raise_word: str | None  # what <APP>_TELEMETRY raises to: on, anonymous, identified

    def __getattr__(self, name: str) -> object:
        if name in ("env_var", "env_value", "env_flag", "raise_word"):
            self._read_app_env()
        elif name in ("project", "project_cap"):
            self._read_project()
        elif name in _STORED:
            self._read_stored()
        elif name == "writer":
            self._make_writer()
        else:
            raise AttributeError(name)
        return self.__dict__[name]

    def _read_app_env(self) -> None:
        self.env_var = app_env_prefix(self.app) + "_TELEMETRY"
        self.env_value = value = self.env.get(self.env_var)
        self.env_flag = None if value is None else parse_bool(value)
        self.raise_word = _raise_word(value, self.env_flag)

    def _make_writer(self) -> None:
        # optel.consent.store (the lock, the atomic replace) loads only when a row writes.
        writer = None
        if self.live and self.user_file:
            from optel.consent.store import UserStore

            writer = UserStore(self.user_file)
        self.writer = writer

    def _read_project(self) -> None:
        path = self.project_file
        self.project = ("identified", None) if path is None else read_project_mode(path)
        self.project_cap = self.project[0]

    def _read_stored(self) -> None:
        stored = read_user_file(self.user_file) if self.user_file else {}
        table = stored if isinstance(stored, dict) else {}
        self.stored, self.table = stored, table
        kept = table.get("install_id")
        self.install_id = kept if isinstance(kept, str) and kept else None
        self.stored_mode = mode = table.get("mode")
        user_id = table.get("user_id") or None
        self.stored_user_id = user_id if isinstance(user_id, str) else None
        version = table.get("consent_version", 1)
        self.stored_version = version if isinstance(version, int) else 1
        chosen = mode in ("anonymous", "identified")
        self.current = chosen and self.stored_version >= self.consent_version
        self.stale = None
        if chosen and not self.current:
            from optel.consent.rowkit import STALE

            self.stale = STALE.format(
                stored=self.stored_version, app=self.app, current=self.consent_version
            )

    @property
    def nobody(self) -> str:
        return "no notice is shown" if self.opt_out else "nobody is asked"

    def tty(self) -> bool:
        """Whether this run may prompt: stdin and stdout are terminals, or ``interactive`` says so."""
        if self._tty is None:
            interactive = self.s.interactive
            self._tty = (
                interactive if interactive is not None else can_prompt(self.stdin, self.stdout)
            )
        return self._tty

    @property
    def stdin(self) -> TextIO:
        return sys.stdin if self.s.stdin is None else self.s.stdin

    @property
    def stdout(self) -> TextIO:
        return sys.stdout if self.s.stdout is None else self.s.stdout

    @property
    def stderr(self) -> TextIO:
        return sys.stderr if self.s.stderr is None else self.s.stderr

    # -- the values rows answer with ---------------------------------------------------------

    def off(self, source: str, reason: str, install_id: str | None = None) -> Consent:
        return Consent(
            "off",
            reason,
            source,
            install_id=install_id,
            ci_name=self.ci_name,
            agent_name=self.agent_name,
            user_file=self.user_file,
            project_file=self.project_file,
            consent_version=self.consent_version,
        )

    def on(
        self, source: str, mode: str, reason: str, install_id: str | None, user_id: str | None
    ) -> Consent:
        """An on answer, limited by the modes the app offers and the project file, and sampled."""
        offered = [m for m in ("anonymous", "identified") if m in self.modes]
        if not offered:
            return self.off(source, reason + LIMITS["no mode"].format(app=self.app), install_id)
        if mode == "identified" and "identified" not in offered:
            mode = "anonymous"
            reason += LIMITS["no identified"].format(app=self.app)
        if _RANK[mode] > _RANK[self.project_cap]:
            mode = self.project_cap
            source = "project_file"
            reason += LIMITS["project file"].format(path=self.shown_project_file, mode=mode)
        sampled = self.sample_percent >= 100
        if install_id and not sampled:
            from optel.consent.ids import in_sample

            sampled = in_sample(install_id, self.sample_percent)
        if not sampled:
            reason += LIMITS["sample"].format(percent=f"{self.sample_percent:g}")
        return Consent(
            mode,
            reason,
            source,
            install_id=install_id,
            user_id=user_id if mode == "identified" else None,
            sampled=sampled,
            ci_name=self.ci_name,
            agent_name=self.agent_name,
            user_file=self.user_file,
            project_file=self.project_file,
            consent_version=self.consent_version,
        )


def _raise_word(value: str | None, flag: bool | None) -> str | None:
    """What ``<APP>_TELEMETRY`` raises to (``on``, ``anonymous``, ``identified``), or None."""
    if value is None or flag is False:
        return None
    word = value.strip().lower()
    if word in ("anonymous", "identified"):
        return word
    return "on" if flag is True else None
