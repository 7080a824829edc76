"""Where optel keeps an app's files: the platformdirs locations, computed without importing platformdirs.

platformdirs costs ~20 ms to import on the machines we measure, twice the whole budget of
``optel.init()``; on Linux and macOS its answer is a couple of environment lookups, so we compute
it here and a test pins the result against platformdirs itself. Other platforms ask platformdirs.
"""

from __future__ import annotations

import os
import sys

from optel import _fs

CONFIG_FILE_NAME = "telemetry.toml"
SPOOL_DIR_NAME = "telemetry-spool"


def _home() -> str:
    # An empty or relative HOME would root our files at / or in the working directory:
    # treat it as no home at all (telemetry then stays off) rather than guess.
    if sys.platform != "win32" and "HOME" in os.environ and not os.path.isabs(os.environ["HOME"]):
        raise OSError("HOME is empty or not an absolute path")
    home = os.path.expanduser("~")
    if home == "~" or not os.path.isabs(home):
        raise OSError("the home directory is unknown")
    return home


def _xdg(var: str, fallback: str) -> str:
    # The XDG spec: a relative path is invalid and ignored (else our files would follow the
    # working directory), as newer platformdirs do; platformdirs 4.4 (Python 3.9) keeps it.
    value = os.environ.get(var, "")
    if os.path.isabs(value):
        return value
    return os.path.join(_home(), fallback)


def _checked(app: str) -> str:
    # The last guard before a name becomes a path that `optel reset` deletes files under: a
    # caller that skipped the name check must not reach outside the platform dirs.
    from optel._settings import app_name_problem

    problem = app_name_problem(app)
    if problem is not None:
        raise ValueError(f"app {problem}")
    return app


def user_config_dir(app: str) -> str:
    """platformdirs.user_config_dir(app); raises OSError when there is no usable home.

    Raises ValueError for an app name that is not a single directory name.
    """
    app = _checked(app)
    if sys.platform == "darwin":
        return os.path.join(_home(), "Library", "Application Support", app)
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return os.path.join(_xdg("XDG_CONFIG_HOME", ".config"), app)
    import platformdirs

    return platformdirs.user_config_dir(app, appauthor=False)


def user_cache_dir(app: str) -> str:
    """platformdirs.user_cache_dir(app); raises OSError when there is no usable home.

    Raises ValueError for an app name that is not a single directory name.
    """
    app = _checked(app)
    if sys.platform == "darwin":
        return os.path.join(_home(), "Library", "Caches", app)
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return os.path.join(_xdg("XDG_CACHE_HOME", ".cache"), app)
    import platformdirs

    return platformdirs.user_cache_dir(app, appauthor=False)


def user_config_file(app: str) -> str:
    """The user's stored telemetry choice for `app`: `<user config dir>/telemetry.toml`.

    Raises UnsafeDirectory (an OSError) when the app's config dir is not safe to write in.
    """
    directory = user_config_dir(app)
    _fs.check_dirs(os.path.dirname(directory), directory)
    return os.path.join(directory, CONFIG_FILE_NAME)


def spool_dir(app: str) -> str:
    """The per-app spool directory under the user cache dir.

    Raises UnsafeDirectory (an OSError) when it, or the app's cache dir holding it, is a symlink
    or another user's, or when the cache root lets other users swap them (see `check_spool_dir`).
    """
    path = os.path.join(user_cache_dir(app), SPOOL_DIR_NAME)
    check_spool_dir(path)
    return path


def check_spool_dir(path: str) -> None:
    """Raise UnsafeDirectory unless the spool dir `path` and its parent (the app's dir) are safe."""
    parent = os.path.dirname(path)
    _fs.check_dirs(os.path.dirname(parent), parent, path)
