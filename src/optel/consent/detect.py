"""Recognising where a process runs: a CI system, a coding agent, or a terminal a person sits at."""

from __future__ import annotations

import os

from optel._env import FALSE_WORDS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

# (variable, name reported as optel.cli.ci.name), most specific first; the generic markers come last so
# that a vendor that also sets CI=true is reported by its own name.
CI_MARKERS = (
    ("GITHUB_ACTIONS", "github-actions"),
    ("GITLAB_CI", "gitlab"),
    ("BUILDKITE", "buildkite"),
    ("JENKINS_URL", "jenkins"),
    ("TF_BUILD", "azure-pipelines"),
    ("CIRCLECI", "circleci"),
    ("TRAVIS", "travis"),
    ("TEAMCITY_VERSION", "teamcity"),
    ("BITBUCKET_BUILD_NUMBER", "bitbucket"),
    ("CODEBUILD_BUILD_ID", "aws-codebuild"),
    ("DRONE", "drone"),
    ("APPVEYOR", "appveyor"),
    ("SEMAPHORE", "semaphore"),
    ("CIRRUS_CI", "cirrus"),
    ("BITRISE_IO", "bitrise"),
    ("CF_BUILD_ID", "codefresh"),
    ("HARNESS_BUILD_ID", "harness"),
    ("WOODPECKER", "woodpecker"),
    ("GITEA_ACTIONS", "gitea"),
    ("BUDDY", "buddy"),
    ("NETLIFY", "netlify"),
    ("VERCEL", "vercel"),
    ("CI", "generic"),
    ("CONTINUOUS_INTEGRATION", "generic"),
    ("CI_NAME", "generic"),
    ("BUILD_ID", "generic"),
    ("RUN_ID", "generic"),
)

# Variables that coding agents set in the shells they drive; any of them means no person is
# reading the terminal, so nobody may be asked.
AGENT_MARKERS = (
    ("CLAUDECODE", "claude-code"),
    ("CLAUDE_CODE_ENTRYPOINT", "claude-code"),
    ("CURSOR_AGENT", "cursor"),
    ("GEMINI_CLI", "gemini-cli"),
    ("AIDER", "aider"),
    ("OPENCODE", "opencode"),
    ("REPL_ID", "replit"),
    ("AI_AGENT", "generic"),
)
AGENT_PREFIXES = (("CODEX_", "codex"),)


def _says_yes(value: str | None) -> bool:
    # A marker counts when it is set to anything but empty or a false word (CI=false is not CI).
    return value is not None and value.strip().lower() not in FALSE_WORDS


def detect_ci(environ: Mapping[str, str], names: Collection[str] | None = None) -> str | None:
    """The CI system's name (``github-actions``, ``gitlab``, ..., ``generic``), or None.

    ``names``: the environment's variable names, when the caller has them (see ``detect_agent``).
    """
    names = frozenset(environ) if names is None else names
    for var, name in CI_MARKERS:
        if var in names and _says_yes(environ.get(var)):
            return name
    return None


def detect_agent(environ: Mapping[str, str], names: Collection[str] | None = None) -> str | None:
    """The coding agent's name (``claude-code``, ``cursor``, ``gemini-cli``, ``codex``, ...), or None.

    The markers are looked up among the environment's names, read once: a lookup in ``os.environ``
    encodes the name each time, and most markers are absent (this runs in every host's init).
    """
    names = frozenset(environ) if names is None else names
    for var, name in AGENT_MARKERS:
        if var in names and _says_yes(environ.get(var)):
            return name
    for prefix, name in AGENT_PREFIXES:
        for var in names:
            if var.startswith(prefix) and _says_yes(environ.get(var)):
                return name
    return None


def is_tty(stream: object) -> bool:
    """True when ``stream`` is an open terminal; False for None, closed or replaced streams."""
    isatty = getattr(stream, "isatty", None)
    if isatty is None:
        return False
    try:
        return bool(isatty())
    except (OSError, ValueError):
        return False


def can_prompt(stdin: object, stdout: object) -> bool:
    """True when a person can be asked: stdin and stdout are terminals and we own the terminal.

    A job put in the background (``tool &``) still has a terminal, but reading from it would
    stop the whole process (SIGTTIN): only the terminal's foreground process group may ask.
    """
    if not (is_tty(stdin) and is_tty(stdout)):
        return False
    if os.name != "posix":
        return True
    try:
        fd = stdin.fileno()  # type: ignore[attr-defined]
        return bool(os.tcgetpgrp(fd) == os.getpgrp())
    except (AttributeError, OSError, ValueError):
        return False
