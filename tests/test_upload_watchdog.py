"""The deadline watchdog of an upload session (upload/http.py), on `_thread` alone: it shuts a
real socket down at the deadline, never before, after a disarm never, again after a re-arm, and
its thread ends when the session closes."""

from __future__ import annotations

import _thread
import socket
import time

import pytest

from optel.upload.http import Watchdog


class Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def watchdog():
    watchdog = Watchdog()
    yield watchdog
    watchdog.close()


def wait_for(condition, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_a_request_past_its_deadline_has_its_socket_shut_down(pair, watchdog) -> None:
    ours, _ = pair
    start = time.monotonic()
    watchdog.arm(start + 0.3, Connection(ours))
    ours.settimeout(10)
    assert ours.recv(10) == b""  # the shutdown ends the blocked read
    took = time.monotonic() - start
    assert 0.25 <= took < 5
    assert watchdog.fired


def test_a_disarmed_request_is_left_alone_and_a_new_one_is_watched(pair, watchdog) -> None:
    ours, theirs = pair
    watchdog.arm(time.monotonic() + 0.2, Connection(ours))
    watchdog.disarm()
    time.sleep(0.5)
    assert not watchdog.fired
    theirs.sendall(b"x")
    assert ours.recv(10) == b"x"  # still open
    watchdog.arm(time.monotonic() + 0.2, Connection(ours))
    assert wait_for(lambda: watchdog.fired)
    ours.settimeout(5)
    assert ours.recv(10) == b""


def test_a_later_deadline_replaces_an_earlier_one(pair, watchdog) -> None:
    ours, _ = pair
    watchdog.arm(time.monotonic() + 0.2, Connection(ours))
    later = time.monotonic() + 3.0
    watchdog.arm(later, Connection(ours))
    time.sleep(0.5)
    # Past the first deadline: it did not fire, unless the second has passed too (a loaded
    # machine). Read in this order, a fire seen is one that happened after `later`.
    fired = watchdog.fired
    assert not fired or time.monotonic() >= later
    assert wait_for(lambda: watchdog.fired, 10)


def test_closing_the_session_ends_the_watchdog_thread(pair) -> None:
    ours, _ = pair
    # The watchdogs of the tests before have been told to close: let their threads end first.
    wait_for(lambda: _steady(_thread._count()))
    before = _thread._count()
    watchdog = Watchdog()
    watchdog.arm(time.monotonic() + 60, Connection(ours))
    assert _thread._count() == before + 1  # started, and running when arm returned
    watchdog.close()
    assert wait_for(lambda: _thread._count() == before)
    assert not watchdog.fired


def _steady(count: int) -> bool:
    time.sleep(0.2)
    return _thread._count() == count
