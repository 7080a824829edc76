"""Touching the file system safely: small state files read without blocking, directories checked
before optel writes, chmods or deletes in them, and optel's own directories and files written
(created 0700 and 0600, atomically, never through a planted link).

Host-side: the standard library's `os` and `stat` constants only (no `stat` import: ~1 ms).
"""

from __future__ import annotations

import os

# Open flags that never wait and never leave a descriptor to a child; O_NOFOLLOW is added per call.
_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_S_IFMT = 0o170000
_S_IFREG = 0o100000
_S_IFDIR = 0o040000
_S_IFLNK = 0o120000
_S_ISVTX = 0o1000


class NotRegularFile(OSError):
    """A path that names a FIFO, a device, a socket or a directory where a small file should be."""


class UnsafeDirectory(OSError):
    """A directory optel must not use: a symlink, someone else's, or open to every user."""


def is_regular(mode: int) -> bool:
    return mode & _S_IFMT == _S_IFREG


def read_small(path: str, limit: int, *, follow: bool = False) -> bytes:
    """The first `limit` bytes of the regular file `path`.

    Never blocks: a FIFO or device is opened non-blocking and refused (NotRegularFile) before
    anything is read; without `follow`, a symlink is refused too (ELOOP). Raises OSError.
    """
    fd = open_regular(path, follow=follow)
    try:
        return read_fd(fd, limit)
    finally:
        os.close(fd)


def read_text(path: str, limit: int) -> str:
    """The first `limit` bytes of the regular file `path` (symlinks followed) as text, undecodable
    bytes replaced. Never waits: a file in a repository is anyone's, and a clone's `.git/config`
    (or the file a `gitdir:` names) may be a FIFO or a device. Raises OSError."""
    return read_small(path, limit, follow=True).decode("utf-8", "replace")


def fnv1a_64(data: bytes) -> str:
    """64-bit FNV-1a of `data`, as 16 hex digits: a short name for a file or a cache entry, with no
    hash module to import on the host's exit path (~20 µs for 100 bytes). Not a secret's
    protection."""
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def open_regular(path: str, *, follow: bool = False) -> int:
    """A descriptor for reading the regular file `path` (never a FIFO or device; a symlink only with `follow`)."""
    fd = os.open(path, _READ_FLAGS | (0 if follow else NOFOLLOW))
    try:
        mode = os.fstat(fd).st_mode
        if mode & _S_IFMT == _S_IFDIR:
            raise IsADirectoryError(f"{path}: a directory")
        if not is_regular(mode):
            raise NotRegularFile(f"{path}: not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_fd(fd: int, limit: int) -> bytes:
    """Up to `limit` bytes from `fd`, from where it stands."""
    chunks: list[bytes] = []
    left = limit
    # os.read allocates the whole size it is asked for: a first read of 64 KiB takes a small file
    # (nearly every one optel reads) without mapping a megabyte for it.
    size = 1 << 16
    while left > 0:
        chunk = os.read(fd, min(left, size))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
        size = 1 << 20
    return b"".join(chunks)


# For files optel writes: never through a planted symlink, never waiting on a FIFO without a reader.
WRITE_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | NOFOLLOW
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def written_by_me(st: os.stat_result) -> bool:
    """Whether a file is this user's and writable by no one else (what optel itself writes: 0600)."""
    if os.name != "posix":
        return True
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022


def dir_problem(path: str) -> str | None:
    """What makes the existing directory `path` unusable for optel's own files, or None.

    Refused: a symlink (another user may have planted it in a shared cache dir), anything but a
    directory, and a directory of another user. A missing path is no problem (optel creates it).
    """
    if os.name != "posix":
        return None
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be examined ({exc.strerror or exc})"
    kind = st.st_mode & _S_IFMT
    if kind == _S_IFLNK:
        return "is a symbolic link"
    if kind != _S_IFDIR:
        return "is not a directory"
    if st.st_uid != os.geteuid():
        return f"belongs to another user (uid {st.st_uid})"
    return None


def tighten_dir(path: str, bits: int) -> None:
    """Clear the permission `bits` of the user's own directory `path`, through a descriptor opened
    without following a symlink (so a directory swapped in meanwhile is never the one changed)."""
    if os.name != "posix":
        return
    fd = os.open(
        path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    )
    try:
        st = os.fstat(fd)
        if st.st_uid == os.geteuid() and st.st_mode & bits:
            os.fchmod(fd, st.st_mode & 0o7777 & ~bits)
    finally:
        os.close(fd)


def base_problem(path: str) -> str | None:
    """What makes `path` (the user's config or cache root, maybe a symlink) unsafe to create in.

    Open to every user without the sticky bit, or owned by someone else than the user or root,
    another user could rename optel's directories in it and put their own in their place.
    """
    if os.name != "posix":
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None  # missing: created later by the user's own makedirs
    if st.st_uid not in (os.geteuid(), 0):
        return f"belongs to another user (uid {st.st_uid})"
    if st.st_mode & 0o002 and not st.st_mode & _S_ISVTX:
        return "is writable by every user (and not sticky)"
    return None


def check_dirs(base: str, *owned: str) -> None:
    """Raise UnsafeDirectory when `base` or one of the directories optel owns under it is unsafe."""
    problem = base_problem(base)
    if problem is not None:
        raise UnsafeDirectory(f"refusing {base}: it {problem}")
    for path in owned:
        problem = dir_problem(path)
        if problem is not None:
            raise UnsafeDirectory(f"refusing {path}: it {problem}")


# -- what optel writes: its own directories and files, never through a planted link ----------------


def ensure_dir(path: str) -> bool:
    """Create an optel dir such as the spool dir (and its parents) with mode 0700, tightening an existing one; returns
    whether it was created just now.

    Raises UnsafeDirectory (an OSError) when `path` is a symlink or another user's directory.
    """
    try:
        os.mkdir(path, 0o700)  # one system call where the directory is there (nearly always)
        created = True
    except FileExistsError:
        created = False
    except FileNotFoundError:
        os.makedirs(path, 0o700, exist_ok=True)
        created = True
    problem = dir_problem(path)
    if problem is not None:
        raise UnsafeDirectory(f"refusing {path}: it {problem}")
    tighten_dir(path, 0o077)
    return created


def write_atomically(path: str, data: bytes, *, sync: bool = True) -> None:
    """Write `path` through `path.tmp` (mode 0600, fsynced) and a rename: readers see all or nothing."""
    tmp = path + ".tmp"
    try:
        fd = os.open(tmp, WRITE_FLAGS | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        # Also on KeyboardInterrupt: a half-written file must not outlive the attempt.
        unlink(tmp)
        raise


def unlink(path: str) -> bool:
    try:
        os.unlink(path)
    except OSError:
        return False
    return True


def regular_or_missing(path: str) -> bool:
    try:
        return is_regular(os.lstat(path).st_mode)
    except OSError:
        return True


def remove_odd(path: str) -> None:
    # Only ever inside one of the user's own optel dirs (checked): a FIFO, symlink or empty directory
    # standing where a state file belongs.
    if not unlink(path):
        try:
            os.rmdir(path)
        except OSError:
            pass
