"""The shared env and path helpers: one boolean parser, `<APP>`, and platformdirs' locations."""

from __future__ import annotations

import os
import sys

import platformdirs
import pytest

from optel import _env, _paths


@pytest.mark.parametrize(
    "value", ["1", "true", "yes", "on", "y", "t", "TRUE", " Yes ", "\tON\n", "T"]
)
def test_parse_bool_true_words(value):
    assert _env.parse_bool(value) is True


@pytest.mark.parametrize(
    "value", ["0", "false", "no", "off", "n", "f", "", "  ", "FALSE", " No ", "Off", "F"]
)
def test_parse_bool_false_words_and_empty(value):
    assert _env.parse_bool(value) is False


@pytest.mark.parametrize("value", [None, "2", "maybe", "enabled", "yes please", "-1"])
def test_parse_bool_anything_else_is_none(value):
    assert _env.parse_bool(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("", False),
        ("0", False),
        (" false ", False),
        ("NO", False),
        ("1", True),
        ("anything", True),
        ("true", True),
    ],
)
def test_do_not_track(value, expected):
    env = {} if value is None else {"DO_NOT_TRACK": value}
    assert _env.do_not_track(env) is expected


@pytest.mark.parametrize(
    ("app", "prefix"),
    [
        ("optel", "OPTEL"),
        ("my-tool", "MY_TOOL"),
        ("my--tool", "MY_TOOL"),
        ("my.tool.v2", "MY_TOOL_V2"),
        ("My Tool", "MY_TOOL"),
        ("tool_2", "TOOL_2"),
        ("-x-", "_X_"),
        ("a-._b", "A_B"),
    ],
)
def test_app_env_prefix(app, prefix):
    assert _env.app_env_prefix(app) == prefix


def test_app_env_reads_the_derived_variable():
    assert _env.app_env("my-tool", "TELEMETRY", {"MY_TOOL_TELEMETRY": "off"}) == "off"
    assert _env.app_env("my-tool", "TELEMETRY", {}) is None


@pytest.mark.skipif(sys.platform == "win32", reason="Windows paths come from platformdirs itself")
@pytest.mark.parametrize("xdg", ["absolute", "unset", "empty", "relative"])
@pytest.mark.parametrize("app", ["optel", "my-tool", "Tool Name"])
def test_paths_equal_platformdirs_under_the_same_environment(monkeypatch, tmp_path, xdg, app):
    for var, sub in (("XDG_CONFIG_HOME", "conf"), ("XDG_CACHE_HOME", "cache")):
        if xdg == "absolute":
            monkeypatch.setenv(var, str(tmp_path / sub))
        elif xdg == "unset":
            monkeypatch.delenv(var, raising=False)
        elif xdg == "empty":
            monkeypatch.setenv(var, "")
        else:
            monkeypatch.setenv(var, "relative/dir")
    ours = [_paths.user_config_dir(app), _paths.user_cache_dir(app)]
    ours += [_paths.user_config_file(app), _paths.spool_dir(app)]
    if xdg == "relative":
        # The XDG spec: a relative path is invalid and must be ignored. Newer platformdirs (4.14)
        # do so; 4.4, the newest on Python 3.9, keeps it: compare with the variables unset.
        for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
            monkeypatch.delenv(var)
    config = platformdirs.user_config_dir(app, appauthor=False)
    cache = platformdirs.user_cache_dir(app, appauthor=False)
    spool = os.path.join(cache, "telemetry-spool")
    assert ours == [config, cache, os.path.join(config, "telemetry.toml"), spool]


@pytest.mark.skipif(sys.platform == "win32", reason="HOME is not how Windows finds the profile")
def test_paths_raise_oserror_without_a_usable_home(monkeypatch):
    monkeypatch.setenv("HOME", "relative")
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.delenv("XDG_CACHE_HOME")
    with pytest.raises(OSError):
        _paths.user_config_file("x")
    with pytest.raises(OSError):
        _paths.spool_dir("x")


@pytest.mark.parametrize("app", ["/tmp/x", "../escape", "a/b", "", " ", ".", "..", "nul\0byte"])
def test_paths_refuse_an_app_name_that_is_not_one_directory_name(app):
    # The last guard: `reset` deletes files under these directories.
    for where in (_paths.user_config_file, _paths.spool_dir):
        with pytest.raises(ValueError, match="app "):
            where(app)


@pytest.mark.parametrize("app", ["/tmp/x", "../escape", "", "..", "nul\0byte"])
def test_init_and_the_paths_share_one_app_name_rule(app):
    from optel._settings import Settings, app_name_problem

    problem = app_name_problem(app)
    assert problem is not None
    with pytest.raises(ValueError) as raised:
        Settings.check(app)
    assert str(raised.value) == f"optel.init(): app {problem}"
