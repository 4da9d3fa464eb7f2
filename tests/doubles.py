"""Test doubles for the door hardware: FakeLock, an in-memory LockAdapter, and the FakeCall
records it keeps. Nothing here knows about Django (tests/hardware runs without it).

The door uses the adapter named by settings.DOOR_LOCK_ADAPTER: a test sets it to
"tests.doubles.FakeLock" and inspects `workflows.doors.lock_adapter()`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from hardware.relays import DEFAULT_DEADLINE_S, LockError, RelayTarget

__all__ = ["FakeCall", "FakeLock"]


@dataclass(frozen=True)
class FakeCall:
    """One call made on a FakeLock."""

    method: str
    target: RelayTarget
    sensor_input: int | None = None
    deadline_s: float = DEFAULT_DEADLINE_S


class FakeLock:
    """In-memory LockAdapter for tests: records calls, keeps relay/door state, fails on demand.

    Relays stay on after unlock until ``set_relay(target, False)``; doors read
    closed until ``set_door``. A failing call is recorded but changes nothing.
    """

    def __init__(
        self, command_guard: Callable[[RelayTarget, float], AbstractContextManager[object]] | None = None
    ) -> None:
        # Taken like ModbusRelayLock's, and never entered: a fake sends nothing on its own.
        self.command_guard = command_guard
        self.calls: list[FakeCall] = []
        self.unlocked: list[RelayTarget] = []
        self._relays: dict[tuple[str, int, int, int], bool] = {}
        self._doors: dict[tuple[str, int, int, int], bool] = {}
        self._failure: LockError | None = None
        self._failures_left: int | None = None
        self._lock = threading.Lock()

    def fail_with(
        self,
        error: LockError | type[LockError] | None,
        *,
        times: int | None = None,
    ) -> None:
        """Make the next ``times`` calls (every call if None) raise ``error``; None stops failing."""
        if isinstance(error, type):
            error = error("simulated lock failure")
        if times is not None and times <= 0:
            error = None
        with self._lock:
            self._failure = error
            self._failures_left = times if error is not None else None

    def set_relay(self, target: RelayTarget, on: bool) -> None:
        with self._lock:
            self._relays[_relay_key(target)] = on

    def set_door(self, target: RelayTarget, sensor_input: int, open: bool) -> None:
        with self._lock:
            self._doors[_door_key(target, sensor_input)] = open

    def unlock(self, target: RelayTarget, *, deadline_s: float = DEFAULT_DEADLINE_S) -> None:
        with self._lock:
            self._record(FakeCall("unlock", target, None, deadline_s))
            self._relays[_relay_key(target)] = True
            self.unlocked.append(target)

    def read_state(self, target: RelayTarget, *, deadline_s: float = DEFAULT_DEADLINE_S) -> bool:
        with self._lock:
            self._record(FakeCall("read_state", target, None, deadline_s))
            return self._relays.get(_relay_key(target), False)

    def door_open(
        self,
        target: RelayTarget,
        sensor_input: int,
        *,
        deadline_s: float = DEFAULT_DEADLINE_S,
    ) -> bool:
        with self._lock:
            self._record(FakeCall("door_open", target, sensor_input, deadline_s))
            return self._doors.get(_door_key(target, sensor_input), False)

    def _record(self, call: FakeCall) -> None:
        self.calls.append(call)
        if self._failure is None:
            return
        error = self._failure
        if self._failures_left is not None:
            self._failures_left -= 1
            if self._failures_left <= 0:
                self._failure = self._failures_left = None
        # A fresh instance per call so tracebacks do not pile up on one object.
        raise type(error)(*error.args)


def _relay_key(target: RelayTarget) -> tuple[str, int, int, int]:
    return (target.host, target.port, target.unit, target.coil)


def _door_key(target: RelayTarget, sensor_input: int) -> tuple[str, int, int, int]:
    return (target.host, target.port, target.unit, sensor_input)
