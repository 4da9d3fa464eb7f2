"""Door-lock adapters: the LockAdapter protocol and a Modbus TCP relay-board lock.

Plain values in, plain values or LockError subclasses out; nothing here knows about Django.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU
from pymodbus.pdu.bit_message import ReadCoilsRequest, ReadDiscreteInputsRequest

from .protocol import (
    ALL_COILS_ADDRESS,
    COIL_OFF,
    COIL_ON,
    FLASH_ON_BASE,
    RawWriteSingleCoil,
    flash_units,
)

__all__ = [
    "DEFAULT_DEADLINE_S",
    "FRAMINGS",
    "LockAdapter",
    "LockError",
    "LockOutcomeUnknown",
    "LockUnavailable",
    "ModbusRelayLock",
    "RelayTarget",
]

log = logging.getLogger(__name__)

DEFAULT_DEADLINE_S = 2.0
MODES = ("flash", "coil")
# Modbus TCP (MBAP header), or Modbus RTU frames (unit id first, CRC last) on a TCP socket: the
# factory setting of common Ethernet relay boards (Waveshare's Modbus POE ETH Relay, port 4196).
FRAMINGS = {"tcp": FramerType.SOCKET, "rtu_over_tcp": FramerType.RTU}
# Coil-mode OFF is idempotent and leaving a door energised is the worse failure,
# so unlike unlock it is worth a few attempts.
OFF_ATTEMPTS = 3
OFF_RETRY_PAUSE_S = 0.5


class LockError(Exception):
    """Base class of every lock failure."""


class LockUnavailable(LockError):
    """The command was certainly not executed (no connection, nothing sent, board refused or relay stayed off)."""


class LockOutcomeUnknown(LockUnavailable):
    """The write may have reached the board but could not be confirmed: report failure, audit as a possible unlock."""


@dataclass(frozen=True)
class RelayTarget:
    """One relay channel on one Modbus TCP relay board."""

    host: str
    port: int
    unit: int = 1
    coil: int = 0
    pulse_ms: int = 3000
    mode: str = "flash"
    framing: str = "tcp"

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("host is required")
        if not 1 <= self.port <= 0xFFFF:
            raise ValueError(f"port {self.port} outside 1..65535")
        if not 1 <= self.unit <= 0xFF:
            # unit 0 is broadcast: boards execute it but never answer.
            raise ValueError(f"unit {self.unit} outside 1..255")
        if not 0 <= self.coil < ALL_COILS_ADDRESS:
            raise ValueError(f"coil {self.coil} outside 0..{ALL_COILS_ADDRESS - 1}")
        if self.mode not in MODES:
            raise ValueError(f"mode {self.mode!r} not one of {MODES}")
        if self.framing not in FRAMINGS:
            raise ValueError(f"framing {self.framing!r} not one of {tuple(FRAMINGS)}")
        flash_units(self.pulse_ms)


@runtime_checkable
class LockAdapter(Protocol):
    """What the application needs from a door lock."""

    def unlock(self, target: RelayTarget, *, deadline_s: float = DEFAULT_DEADLINE_S) -> None:
        """Energise the relay for target.pulse_ms; raise LockError unless confirmed."""
        ...

    def read_state(self, target: RelayTarget, *, deadline_s: float = DEFAULT_DEADLINE_S) -> bool:
        """Return whether the relay coil is currently on."""
        ...

    def door_open(
        self,
        target: RelayTarget,
        sensor_input: int,
        *,
        deadline_s: float = DEFAULT_DEADLINE_S,
    ) -> bool:
        """Return the raw state of the door-sensor discrete input (True = active)."""
        ...


def _where(target: RelayTarget) -> str:
    return f"{target.host}:{target.port} ({target.framing}) unit={target.unit} coil={target.coil}"


class _DeadlineClient(ModbusTcpClient):
    """pymodbus sync client whose connect, send and receive share one absolute deadline.

    pymodbus reuses ``comm_params.timeout_connect`` as the connect timeout and as
    the per-recv timeout, so it is re-armed with the time left before each step.
    ``bytes_sent`` tells "never left this host" apart from "board may have it".
    """

    def __init__(self, target: RelayTarget, deadline: float) -> None:
        self.deadline = deadline
        self.bytes_sent = 0
        super().__init__(
            target.host,
            port=target.port,
            framer=FRAMINGS[target.framing],
            timeout=max(self.remaining(), 0.001),
            retries=0,
        )
        self.register(RawWriteSingleCoil)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def connect(self) -> bool:
        if self.socket is not None:
            return True
        remaining = self.remaining()
        if remaining <= 0:
            return False
        self.comm_params.timeout_connect = remaining
        return super().connect()

    def send(self, request: bytes, addr: tuple | None = None) -> int:
        sent = super().send(request, addr)
        self.bytes_sent += sent
        return sent

    def recv(self, size: int | None) -> bytes:
        remaining = self.remaining()
        if remaining <= 0:
            # An empty read is how pymodbus' transaction layer detects a timeout.
            return b""
        self.comm_params.timeout_connect = remaining
        return super().recv(size)


def _read_bit(client: _DeadlineClient, request: ModbusPDU) -> bool:
    response = client.execute(False, request)
    if response.isError():
        raise LockUnavailable(f"board refused read (exception {response.exception_code})")
    if not response.bits:
        raise LockUnavailable("board sent an empty read response")
    return bool(response.bits[0])


def _coil_request(target: RelayTarget) -> ReadCoilsRequest:
    return ReadCoilsRequest(address=target.coil, count=1, dev_id=target.unit)


class ModbusRelayLock:
    """LockAdapter for Waveshare-style Modbus TCP relay boards.

    Every call opens its own connection, never retries, and finishes within
    ``deadline_s`` (connect, probe read, write and read-back share it). A write is
    sent only after the board answered the probe on that connection, so a board
    that has stopped answering never gets a command to run late. DNS lookups are
    not bounded by the deadline, so configure boards by IP address.

    ``mode="flash"`` uses the board's flash-on command (FC05 to 0x0200+coil,
    value = pulse in 100 ms): the board itself switches the relay off, so a
    crash of this process can never leave a door unlocked.
    ``mode="coil"`` is the fallback for boards without it: coil ON now and a
    daemon thread writes OFF after pulse_ms. That is best effort only: if this
    process dies in between, the relay stays on until something switches it off.

    ``command_guard(target, deadline)`` is entered around each command this
    adapter sends on its own (the coil-mode OFF, from its timer thread): the
    caller's board lock, so that the OFF never interleaves with another
    command to the board, and its audit. The caller guards the commands it asks for.
    """

    def __init__(
        self, command_guard: Callable[[RelayTarget, float], AbstractContextManager[object]] | None = None
    ) -> None:
        self._off_timers: dict[tuple[str, int, int, int], threading.Timer] = {}
        self._timers_lock = threading.Lock()
        self._guard = command_guard or (lambda target, deadline: nullcontext())

    def unlock(self, target: RelayTarget, *, deadline_s: float = DEFAULT_DEADLINE_S) -> None:
        deadline = time.monotonic() + deadline_s
        if target.mode == "flash":
            request = RawWriteSingleCoil(
                FLASH_ON_BASE + target.coil,
                flash_units(target.pulse_ms),
                dev_id=target.unit,
            )
            self._write_confirmed(target, request, True, deadline, target.pulse_ms / 1000)
            return
        request = RawWriteSingleCoil(target.coil, COIL_ON, dev_id=target.unit)
        try:
            self._write_confirmed(target, request, True, deadline, math.inf)
        except LockOutcomeUnknown:
            # The ON may have landed even though it was not confirmed.
            self._schedule_off(target)
            raise
        # A plain LockUnavailable means the relay did not switch: any OFF still
        # pending from an earlier unlock is left as it is.
        self._schedule_off(target)

    def read_state(self, target: RelayTarget, *, deadline_s: float = DEFAULT_DEADLINE_S) -> bool:
        return self._read(target, _coil_request(target), deadline_s)

    def door_open(
        self,
        target: RelayTarget,
        sensor_input: int,
        *,
        deadline_s: float = DEFAULT_DEADLINE_S,
    ) -> bool:
        if not 0 <= sensor_input <= 0xFFFF:
            raise ValueError(f"sensor_input {sensor_input} outside 0..65535")
        request = ReadDiscreteInputsRequest(address=sensor_input, count=1, dev_id=target.unit)
        return self._read(target, request, deadline_s)

    def _read(self, target: RelayTarget, request: ModbusPDU, deadline_s: float) -> bool:
        client = _DeadlineClient(target, time.monotonic() + deadline_s)
        try:
            if not client.connect():
                raise LockUnavailable(f"{_where(target)}: cannot connect")
            return _read_bit(client, request)
        except (ModbusException, OSError) as exc:
            raise LockUnavailable(f"{_where(target)}: read failed: {exc}") from exc
        finally:
            client.close()

    def _write_confirmed(
        self,
        target: RelayTarget,
        request: RawWriteSingleCoil,
        expect_on: bool,
        deadline: float,
        hold_s: float,
    ) -> None:
        """Read the coil (the board must answer before anything is written), write, then read
        the coil back; return only if it shows ``expect_on``.

        ``hold_s`` is how long after the write the coil must still show the
        written state; a mismatch inside that window proves the board ignored
        the command (LockUnavailable), later it proves nothing.
        """
        where = _where(target)
        client = _DeadlineClient(target, deadline)
        try:
            if not client.connect():
                raise LockUnavailable(f"{where}: cannot connect")
            # The write goes only to a board that answers right now. One that accepts TCP but
            # does not answer (hung firmware, a stopped process) keeps whatever is sent in its
            # socket buffer and runs it when it wakes up, long after the scan was refused: a
            # door opening late. Closing the socket does not prevent that (a TCP stack still
            # hands buffered data to the application after a FIN or even an RST), not sending does.
            try:
                _read_bit(client, _coil_request(target))
            except (ModbusException, OSError) as exc:
                raise LockUnavailable(f"{where}: board not answering, nothing written: {exc}") from exc
            except LockUnavailable as exc:
                raise LockUnavailable(f"{where}: {exc}, nothing written") from exc
            probe_bytes = client.bytes_sent
            write_started = time.monotonic()
            try:
                response = client.execute(False, request)
            except (ModbusException, OSError) as exc:
                if client.bytes_sent == probe_bytes:
                    raise LockUnavailable(f"{where}: write not sent: {exc}") from exc
                doubt = f"no answer to write: {exc}"
            else:
                if response.isError():
                    raise LockUnavailable(f"{where}: board refused write (exception {response.exception_code})")
                if (
                    getattr(response, "address", None) == request.address
                    and getattr(response, "value", None) == request.value
                ):
                    self._confirm(client, target, expect_on, write_started, hold_s)
                    return
                doubt = f"unexpected echo {response}"
        finally:
            client.close()
        # The write may or may not have landed. Ask on a fresh connection so a
        # late answer to the write cannot be taken for the read-back.
        client = _DeadlineClient(target, deadline)
        try:
            if client.connect() and _read_bit(client, _coil_request(target)) == expect_on:
                return
        except (LockError, ModbusException, OSError) as exc:
            doubt += f"; read-back failed: {exc}"
        finally:
            client.close()
        raise LockOutcomeUnknown(f"{where}: {doubt}")

    @staticmethod
    def _confirm(
        client: _DeadlineClient,
        target: RelayTarget,
        expect_on: bool,
        write_started: float,
        hold_s: float,
    ) -> None:
        where = _where(target)
        try:
            state = _read_bit(client, _coil_request(target))
        except (LockError, ModbusException, OSError) as exc:
            raise LockOutcomeUnknown(f"{where}: write acknowledged but read-back failed: {exc}") from exc
        if state == expect_on:
            return
        if time.monotonic() - write_started < hold_s:
            raise LockUnavailable(f"{where}: write acknowledged but relay is {'ON' if state else 'OFF'}")
        raise LockOutcomeUnknown(f"{where}: relay already back at read-back")

    def _schedule_off(self, target: RelayTarget) -> None:
        key = (target.host, target.port, target.unit, target.coil)

        def fire() -> None:
            with self._timers_lock:
                if self._off_timers.get(key) is timer:
                    del self._off_timers[key]
            self._coil_off(target)

        timer = threading.Timer(target.pulse_ms / 1000, fire)
        timer.daemon = True
        with self._timers_lock:
            previous = self._off_timers.pop(key, None)
            if previous is not None:
                previous.cancel()
            self._off_timers[key] = timer
        timer.start()

    def _coil_off(self, target: RelayTarget) -> None:
        request = RawWriteSingleCoil(target.coil, COIL_OFF, dev_id=target.unit)
        for attempt in range(1, OFF_ATTEMPTS + 1):
            deadline = time.monotonic() + DEFAULT_DEADLINE_S
            try:
                with self._guard(target, deadline):
                    self._write_confirmed(target, request, False, deadline, math.inf)
                return
            except Exception as exc:  # the board, or the guard (board lock busy, its database down)
                level = logging.ERROR if attempt == OFF_ATTEMPTS else logging.WARNING
                log.log(level, "coil-mode OFF attempt %d failed: %s", attempt, exc)
            if attempt < OFF_ATTEMPTS:
                time.sleep(OFF_RETRY_PAUSE_S)
