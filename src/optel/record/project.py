"""The project id: 32 hex digits of SHA-256(install salt, project key), the key being the
project's normalised git remote, else its absolute path: stable per install and project, not
guessable (docs/telemetry-data.md, ``optel.project.id``).

Computed at flush, for the resource (``optel.record.resource``). A run in a project seen before
takes the id from its spool's ``projects`` file (docs/spool-format.md#state-files) instead of
loading a hash module (``_sha256``: ~0.15 ms of the host's exit, most of it the dynamic loader's).
The file maps the 64-bit FNV-1a of (salt, key) to the id: nothing in it names a path or a remote
that the id itself would not give away to someone holding the salt.
"""

from __future__ import annotations

import os
import sys

from optel import _fs
from optel._fs import read_text

# The `projects` file holds at most this many bytes (~60 projects); one more starts it afresh.
_MAX_REMEMBERED_BYTES = 3200
_HEX = frozenset("0123456789abcdef")


def _git_dir(start: str) -> str | None:
    here = os.path.abspath(start)
    while True:
        candidate = os.path.join(here, ".git")
        if os.path.isdir(candidate):
            return candidate
        if os.path.isfile(candidate):
            # A worktree or submodule: ".git" is a file saying "gitdir: <path>".
            try:
                line = _first_line(candidate)
            except OSError:
                return None
            if line.startswith("gitdir:"):
                target = line[len("gitdir:") :].strip()
                return os.path.normpath(os.path.join(here, target))
            return None
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def _first_line(path: str) -> str:
    return read_text(path, 4096).partition("\n")[0].strip()


def _config_path(git_dir: str) -> str:
    # A worktree keeps its shared config in the common dir named by "commondir".
    try:
        common = _first_line(os.path.join(git_dir, "commondir"))
    except OSError:
        return os.path.join(git_dir, "config")
    return os.path.join(os.path.normpath(os.path.join(git_dir, common)), "config")


def remote_url(config_text: str) -> str | None:
    """The URL of remote ``origin`` in a git config, else of the first remote."""
    section: str | None = None
    urls: dict[str, str] = {}
    order: list[str] = []
    for raw in config_text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            header = line.strip("[]").strip()
            kind, _, name = header.partition(" ")
            section = name.strip().strip('"') if kind.lower() == "remote" else None
            continue
        if section is None:
            continue
        key, sep, value = line.partition("=")
        if sep and key.strip().lower() == "url" and section not in urls:
            urls[section] = value.strip().strip('"')
            order.append(section)
    if "origin" in urls:
        return urls["origin"]
    return urls[order[0]] if order else None


def normalise_remote(url: str) -> str:
    """One spelling per repository: no scheme, credentials, ``.git`` or case in the host.

    ``git@github.com:Org/Repo.git`` and ``https://user:token@github.com/Org/Repo`` both become
    ``github.com/Org/Repo``, so every clone of a project gets the same id.
    """
    text = url.strip()
    _, sep, rest = text.partition("://")
    if sep:
        text = rest
    elif ":" in text and "/" not in text.split(":", 1)[0]:
        # scp-like syntax: [user@]host:path
        host, _, path = text.partition(":")
        text = host + "/" + path.lstrip("/")
    host, _, path = text.partition("/")
    host = host.rpartition("@")[2].lower()
    path = path.rstrip("/")
    if path.endswith(".git"):
        path = path[:-4]
    return f"{host}/{path}" if path else host


def project_key(project_dir: str) -> str:
    """What the project id hashes: the normalised git remote URL, else the absolute path."""
    git_dir = _git_dir(project_dir)
    if git_dir is not None:
        try:
            url = remote_url(read_text(_config_path(git_dir), 1 << 20))
        except OSError:
            url = None
        if url:
            return "remote:" + normalise_remote(url)
    return "path:" + os.path.abspath(project_dir)


def _sha256_hex(data: bytes) -> str:
    # _sha256 (_sha2 from 3.12) costs a third of hashlib's import. Only the one this Python has is
    # tried: a failed import searches every directory on sys.path first (~0.1 ms at each exit).
    try:
        if sys.version_info >= (3, 12):
            from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]
        else:
            from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:
        from hashlib import sha256
    digest: str = sha256(data).hexdigest()
    return digest


def project_id(
    project_dir: str, salt: str, app: str | None = None, *, remember: bool = False
) -> str:
    """The id of the project at `project_dir` for the install with `salt`; with `app`, taken from
    that app's spool when a run remembered it there, and with `remember` (a flush that goes to the
    spool: never debug output or an audit log alone, never with consent off) remembered there for
    the next run in the same project."""
    data = f"{salt}\n{project_key(project_dir)}".encode()
    path = _projects_file(app) if app else None
    if path is None:
        return _sha256_hex(data)[:32]
    fingerprint = _fs.fnv1a_64(data)
    known = _remembered(path, fingerprint)
    if known is None:
        known = _sha256_hex(data)[:32]
        if remember:
            _remember(path, fingerprint, known)
    return known


def _projects_file(app: str) -> str | None:
    from optel import _paths
    from optel.spool import PROJECTS

    try:
        return os.path.join(_paths.spool_dir(app), PROJECTS)
    except OSError:
        return None  # no safe spool dir: the id is computed, and not remembered


def _remembered(path: str, fingerprint: str) -> str | None:
    try:
        text = _fs.read_small(path, _MAX_REMEMBERED_BYTES).decode("ascii")
    except (OSError, UnicodeDecodeError):
        return None  # none yet, or not a regular file optel wrote
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == fingerprint and len(value) == 32 and _HEX.issuperset(value):
            return value
    return None


def _remember(path: str, fingerprint: str, project: str) -> None:
    # One appended line, written whole (concurrent runs never interleave within it); a full file
    # starts afresh. Where the spool dir is missing yet, or the name is taken by something that is
    # not a regular file, nothing is remembered: the next run computes the id again.
    try:
        fd = os.open(path, _fs.WRITE_FLAGS | os.O_APPEND, 0o600)
    except OSError:
        return
    try:
        st = os.fstat(fd)
        if _fs.is_regular(st.st_mode):
            if st.st_size >= _MAX_REMEMBERED_BYTES:
                os.ftruncate(fd, 0)
            os.write(fd, f"{fingerprint} {project}\n".encode("ascii"))
    except OSError:
        pass
    finally:
        os.close(fd)
