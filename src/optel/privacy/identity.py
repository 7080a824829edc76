"""Who the current user is, as far as scrubbing needs to know: home directories and login names."""

from __future__ import annotations

import os
import sys

_account: tuple[str, str] | None = None
_cached_key: tuple[object, ...] | None = None
_cached: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
_cached_machine: tuple[str, ...] = ()
_cached_watch: tuple[str, ...] = ()
_node: str | None = None

PASSWD_FILE = "/etc/passwd"
_ENV_KEYS = ("HOME", "USERPROFILE", "USER", "LOGNAME", "USERNAME", "HOSTNAME", "COMPUTERNAME")
# Accounts that systems, images and CI runners create for whoever runs them: they identify no one,
# and as "login names" they are common words ("user root", "find_root", "node", "app") that the
# login rule would turn into "<user>". Their home directories are still scrubbed as paths.
SHARED_ACCOUNTS = frozenset(
    (
        "root", "admin", "administrator", "user", "users", "guest", "default", "nobody", "daemon",
        "app", "node", "ubuntu", "debian", "centos", "fedora", "alpine", "ec2-user", "azureuser",
        "vagrant", "docker", "runner", "jenkins", "gitlab-runner", "circleci", "buildkite", "travis",
        "build", "builder", "ci", "www-data", "www", "nginx", "apache", "httpd", "postgres", "mysql",
        "redis", "git", "codespace", "vscode", "developer", "dev", "test", "tester", "public",
        "system", "service",
    )
)  # fmt: skip


# Names that images and installers give every machine: they identify no one, and are words.
SHARED_MACHINE_NAMES = SHARED_ACCOUNTS | frozenset(
    (
        "localhost",
        "localhost.localdomain",
        "raspberrypi",
        "host",
        "server",
        "desktop",
        "laptop",
        "computer",
        "machine",
    )
)


def _system_account() -> tuple[str, str]:
    """(login, home) from the password database, looked up once: the uid does not change."""
    global _account
    if _account is None:
        name, home = "", ""
        if sys.platform != "win32":
            uid = os.getuid()
            entry = _passwd_file_entry(uid)
            if entry is None:
                entry = _nss_entry(uid)
            name, home = entry
        _account = (name, home)
    return _account


def _passwd_file_entry(uid: int) -> tuple[str, str] | None:
    """(login, home) of `uid` as /etc/passwd lists it, or None when it does not.

    The password database's "files" source, read directly: the name service first looks there
    (``passwd: files ...``), and asking it costs ~0.1 ms of the host's exit (``import pwd``, then
    the name service's set-up), reading the file a fifth of that. An account it keeps elsewhere
    (LDAP, macOS's directory) is not in the file and is asked for through ``pwd``.
    """
    try:
        fd = os.open(PASSWD_FILE, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    wanted = b"%d" % uid
    needle = b":" + wanted + b":"
    try:
        # Chunk by chunk, up to the account's line, as the name service reads it: a directory's
        # file may be large.
        rest = b""
        while True:
            chunk = os.read(fd, 65536)
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop() if chunk else b""
            for line in lines:
                if needle in line:
                    entry = _account_line(line, wanted)
                    if entry is not None:
                        return entry
            if not chunk:
                return None
    except OSError:
        return None
    finally:
        os.close(fd)


def _account_line(line: bytes, uid: bytes) -> tuple[str, str] | None:
    fields = line.split(b":")
    # name:password:uid:gid:gecos:home:shell; "+"/"-" lines are NIS's, not accounts.
    if len(fields) >= 7 and fields[2] == uid and fields[0][:1] not in (b"+", b"-", b""):
        return os.fsdecode(fields[0]), os.fsdecode(fields[5])
    return None


def _nss_entry(uid: int) -> tuple[str, str]:
    try:
        import pwd

        entry = pwd.getpwuid(uid)
        return entry.pw_name, entry.pw_dir
    except (ImportError, KeyError, OSError):
        return "", ""


_raw_keys: list[object] = []


def _environment_key() -> tuple[object, ...]:
    """The raw values of the variables that decide the identity, cheaply.

    ``os.environ.get`` decodes on every call (about a microsecond each, per scrubbed dict);
    the mapping's own ``_data`` dict is what it reads from, so it is asked directly when present.
    """
    data = getattr(os.environ, "_data", None)
    if isinstance(data, dict):
        if not _raw_keys:
            encode = getattr(os.environ, "encodekey", lambda name: name)
            _raw_keys.extend(encode(name) for name in _ENV_KEYS)
        get = data.get
        home, profile, user, logname, username, hostname, computername = _raw_keys
        return (
            get(home),
            get(profile),
            get(user),
            get(logname),
            get(username),
            get(hostname),
            get(computername),
        )
    return tuple(os.environ.get(name) for name in _ENV_KEYS)


def _usable_home(path: str | None) -> str | None:
    if not path:
        return None
    stripped = path.rstrip("/\\")
    # "/" or "C:" as a home would turn every path into "~"; such a home says nothing about a person.
    if len(stripped) < 3:
        return None
    if not (stripped.startswith(("/", "\\")) or stripped[1:2] == ":"):
        return None
    return stripped


def current_identity() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(home directories, lower-cased login names) of the current user.

    Read from the environment on every call (cheap, and tests change HOME), with the password
    database as a fallback that is asked once. Homes come longest first, so that a home nested in
    another is replaced whole.
    """
    global _cached_key, _cached, _cached_machine, _cached_watch
    key = _environment_key()
    if key == _cached_key:
        return _cached
    env = os.environ
    values = [env.get(name) for name in _ENV_KEYS]
    account_name, account_home = _system_account()
    homes: list[str] = []
    for candidate in (values[0], values[1], account_home):
        home = _usable_home(candidate)
        if home and home not in homes:
            homes.append(home)
    homes.sort(key=len, reverse=True)
    logins: list[str] = []
    for candidate in (values[2], values[3], values[4], account_name):
        login = (candidate or "").strip().lower()
        # A one-letter login would turn every "a" into "<user>"; it identifies no one anyway.
        if len(login) >= 2 and login not in SHARED_ACCOUNTS and login not in logins:
            logins.append(login)
    _cached_key = key
    _cached = (tuple(homes), tuple(logins))
    _cached_machine = _machine_names(values[5], values[6])
    _cached_watch = _cached[1] + _cached_machine
    return _cached


def _node_name() -> str:
    """``socket.gethostname()`` without importing socket: the kernel's node name, read once."""
    global _node
    if _node is None:
        try:
            _node = os.uname().nodename
        except (AttributeError, OSError):  # Windows has no uname; COMPUTERNAME stands in
            _node = ""
    return _node


def _machine_names(*from_env: str | None) -> tuple[str, ...]:
    names: list[str] = []
    for candidate in (_node_name(), *from_env):
        full = (candidate or "").strip().lower().rstrip(".")
        # The full name (a FQDN when it holds dots) and its first label: either may be written alone.
        for name in (full, full.partition(".")[0]):
            if len(name) >= 3 and name not in SHARED_MACHINE_NAMES and name not in names:
                names.append(name)
    return tuple(sorted(names, key=len, reverse=True))


def machine_names() -> tuple[str, ...]:
    """Lower-cased names of this machine (node name, ``HOSTNAME``, ``COMPUTERNAME``) and their
    first labels, longest first; generic names (``localhost``) and names under 3 letters left out."""
    current_identity()
    return _cached_machine


def watch_words() -> tuple[str, ...]:
    """Login and machine names: the words the fast path must send to the full chain."""
    current_identity()
    return _cached_watch
