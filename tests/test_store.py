"""The user file: atomic, locked writes that keep unknown keys, and broken files left alone."""

from __future__ import annotations

import io
import os
import subprocess
import textwrap

import pytest

from optel import _paths
from optel.consent import Broken, BrokenFileError, UserStore, resolve

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

APP = "store-app"


@pytest.fixture
def path() -> str:
    return _paths.user_config_file(APP)


def put(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def test_missing_file_reads_as_nothing_stored(path):
    assert UserStore(path).read() == {}


def test_update_creates_install_id_salt_and_first_seen(path):
    table = UserStore(path).update(mode="anonymous")
    install_id = str(table["install_id"])
    assert len(install_id) == 36 and install_id[14] == "4" and install_id[19] in "89ab"
    assert len(str(table["salt"])) == 32 and int(str(table["salt"]), 16) >= 0
    assert str(table["first_seen"]).endswith("Z")
    with open(path, "rb") as f:
        assert tomllib.load(f) == table


def test_update_keeps_unknown_keys_and_tables(path):
    put(
        path,
        b'mode = "off"\nfavourite = [1, 2]\nwhen = 1979-05-27T07:32:00Z\n\n[extra]\nnote = "kept"\n',
    )
    table = UserStore(path).update(mode="anonymous")
    with open(path, "rb") as f:
        on_disk = tomllib.load(f)
    assert on_disk == table
    assert on_disk["favourite"] == [1, 2]
    assert on_disk["extra"] == {"note": "kept"}
    assert str(on_disk["when"]).startswith("1979-05-27")
    assert on_disk["mode"] == "anonymous"


def test_update_with_none_removes_a_key(path):
    store = UserStore(path)
    store.update(user_id="bob")
    assert "user_id" not in store.update(user_id=None)


def test_install_ids_are_random(path, tmp_path):
    ids = {UserStore(str(tmp_path / f"{n}.toml")).update()["install_id"] for n in range(20)}
    assert len(ids) == 20


def test_written_file_is_private_and_no_temp_file_is_left(path):
    UserStore(path).update(mode="off")
    # The lock file is removed by its holder: a run leaves only the user's file in the config dir.
    assert sorted(os.listdir(os.path.dirname(path))) == ["telemetry.toml"]
    if os.name == "posix":
        assert os.stat(path).st_mode & 0o777 == 0o600


BROKEN = {
    "empty": b"",
    "whitespace-only": b"  \n\n",
    "binary": bytes(range(256)),
    "not-utf8": b'mode = "\xff"\n',
    "invalid-toml": b"mode = \n",
    "duplicate-key": b'mode = "off"\nmode = "anonymous"\n',
    "mode-wrong-type": b"mode = 1\n",
    "mode-unknown-value": b'mode = "maybe"\n',
    "version-wrong-type": b'mode = "anonymous"\nconsent_version = "1"\n',
    "version-bool": b'mode = "anonymous"\nconsent_version = true\n',
    "install-id-wrong-type": b"install_id = 12\n",
    "notice-wrong-type": b'notice_shown = "yes"\n',
    # Deep enough to exhaust the recursive TOML parser (RecursionError), not a syntax error.
    "nested-too-deep": b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n",
}


@pytest.mark.parametrize("data", list(BROKEN.values()), ids=list(BROKEN))
def test_broken_file_is_off_warned_once_and_left_untouched(path, data):
    put(path, data)
    before = os.stat(path)
    assert isinstance(UserStore(path).read(), Broken)
    err = io.StringIO()
    out = io.StringIO()
    first = resolve(
        APP, environ={}, interactive=True, stdin=io.StringIO("anonymous\n"), stdout=out, stderr=err
    )
    second = resolve(
        APP, environ={}, interactive=True, stdin=io.StringIO("anonymous\n"), stdout=out, stderr=err
    )
    assert first.mode == second.mode == "off"
    assert first.source == "broken_user_file"
    assert out.getvalue() == "", "a broken file never leads to a prompt"
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and "warning" in lines[0] and path in lines[0]
    with open(path, "rb") as f:
        assert f.read() == data
    after = os.stat(path)
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    assert os.listdir(os.path.dirname(path)) == ["telemetry.toml"]


def test_directory_in_place_of_the_file_is_broken(path):
    os.makedirs(path)
    state = UserStore(path).read()
    assert isinstance(state, Broken) and "directory" in state.reason
    assert resolve(APP, environ={}, stderr=io.StringIO()).source == "broken_user_file"


HANGS_IF_BLOCKING = 20  # seconds: a blocking open of a FIFO never returns, so any bound shows it


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_in_place_of_the_file_is_broken_without_blocking(path, python):
    os.makedirs(os.path.dirname(path))
    os.mkfifo(path)
    # In a subprocess: a regression would block on open() forever, and must fail, not hang pytest.
    code = (
        "import io, sys\n"
        "from optel.consent import UserStore, resolve\n"
        "print(UserStore(sys.argv[1]).read().reason)\n"
        f"print(resolve({APP!r}, environ={{}}, stderr=io.StringIO()).source)\n"
    )
    proc = subprocess.run(
        [python, "-c", code, path], capture_output=True, text=True, timeout=HANGS_IF_BLOCKING,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["not a regular file", "broken_user_file"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_set_aside_like_any_broken_file(path, python):
    os.makedirs(os.path.dirname(path))
    os.mkfifo(path)
    code = (
        "import sys\n"
        "from optel.consent import UserStore\n"
        "store = UserStore(sys.argv[1])\n"
        "print(store.set_aside() is not None, store.read())\n"
    )
    proc = subprocess.run(
        [python, "-c", code, path], capture_output=True, text=True, timeout=HANGS_IF_BLOCKING,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True {}"
    assert [n for n in os.listdir(os.path.dirname(path)) if ".corrupt-" in n]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_as_the_project_file_restricts_to_off(tmp_path, python):
    project = tmp_path / "repo" / f".{APP}"
    project.mkdir(parents=True)
    os.mkfifo(project / "telemetry.toml")
    code = (
        "import sys\n"
        "from optel.consent import read_project_mode\n"
        "print(read_project_mode(sys.argv[1]))\n"
    )
    proc = subprocess.run(
        [python, "-c", code, str(project / "telemetry.toml")], capture_output=True, text=True,
        timeout=HANGS_IF_BLOCKING, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "('off', 'not a regular file')"


def test_too_deeply_nested_file_is_broken_and_can_be_set_aside(path):
    put(path, BROKEN["nested-too-deep"])
    state = UserStore(path).read()
    assert isinstance(state, Broken) and "nested" in state.reason
    assert UserStore(path).set_aside() is not None
    assert UserStore(path).update(mode="off")["mode"] == "off"


UNREADABLE_PROBE = """
import os
from optel import _paths
from optel.consent import Broken, UserStore
path = _paths.user_config_file("store-app")
os.makedirs(os.path.dirname(path))
with open(path, "w") as f:
    f.write('mode = "anonymous"\\n')
os.chmod(path, 0)
state = UserStore(path).read()
print(isinstance(state, Broken), state.reason if isinstance(state, Broken) else "")
"""


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_unreadable_file_is_broken(as_nobody):
    # Root reads any file: the probe runs as an unprivileged user (setpriv), in its own home.
    assert as_nobody(UNREADABLE_PROBE).strip() == "True not readable: permission denied"


def test_update_refuses_a_broken_file_and_set_aside_renames_it(path):
    put(path, b"garbage")
    store = UserStore(path)
    with pytest.raises(BrokenFileError):
        store.update(mode="off")
    moved = store.set_aside()
    assert moved is not None and os.path.basename(moved).startswith("telemetry.toml.corrupt-")
    with open(moved, "rb") as f:
        assert f.read() == b"garbage"
    assert store.read() == {}
    assert store.set_aside() is None
    assert store.update(mode="off")["mode"] == "off"


def test_set_aside_never_overwrites_an_earlier_corrupt_copy(path):
    store = UserStore(path)
    moved = []
    for n in range(3):
        put(path, f"garbage {n}".encode())
        moved.append(store.set_aside())
    assert len(set(moved)) == 3


def test_update_raises_oserror_when_the_directory_cannot_be_made(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError):
        UserStore(str(blocker / "app" / "telemetry.toml")).update(mode="off")


WRITER = textwrap.dedent(
    """
    import sys
    from optel.consent import UserStore
    store = UserStore(sys.argv[1])
    for n in range(int(sys.argv[3])):
        store.update(**{f"{sys.argv[2]}_{n}": n, sys.argv[2]: n})
    """
)


def test_concurrent_writers_lose_no_update_and_never_tear_the_file(path, python):
    rounds = 200
    os.makedirs(os.path.dirname(path), exist_ok=True)
    writers = [
        subprocess.Popen([python, "-c", WRITER, path, key, str(rounds)], stderr=subprocess.PIPE)
        for key in ("a", "b")
    ]
    store = UserStore(path)
    reads = 0
    while any(w.poll() is None for w in writers):
        state = store.read()
        assert not isinstance(state, Broken), state
        reads += 1
    for w in writers:
        assert w.wait() == 0, w.stderr.read().decode() if w.stderr else ""
    with open(path, "rb") as f:
        final = tomllib.load(f)
    for key in ("a", "b"):
        assert final[key] == rounds - 1
        assert all(final[f"{key}_{n}"] == n for n in range(rounds))
    assert reads > 0
