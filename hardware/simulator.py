"""Simulated Waveshare-style Modbus relay board (relays, door inputs, hardware-timed flash) on pymodbus.

Run with ``python -m hardware.simulator --port 5020 --log FILE`` or embed RelaySimulator in tests.
``--framing rtu_over_tcp --port 4196`` behaves as the Waveshare board does in its factory setting
(Modbus RTU frames on a TCP socket); ``--unit N`` is the board's unit id (it stays silent for
others). ``--control-port P`` opens a line-based control socket on 127.0.0.1 for what a person
does to a real board (open a door, unplug it); ``--control-port P --send "door 3 open"`` sends
one line to a running simulator and prints its answer.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.framer import FramerType
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.bit_message import (
    ReadCoilsRequest,
    ReadCoilsResponse,
    ReadDiscreteInputsRequest,
    ReadDiscreteInputsResponse,
    WriteMultipleCoilsRequest,
    WriteMultipleCoilsResponse,
)
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from .protocol import (
    ALL_COILS_ADDRESS,
    COIL_OFF,
    COIL_ON,
    COIL_TOGGLE,
    FLASH_BOARD_MAX_UNITS,
    FLASH_OFF_BASE,
    FLASH_ON_BASE,
    FLASH_UNIT_MS,
    RawWriteSingleCoil,
)

__all__ = ["LOG_LINE_RE", "RelayEvent", "RelaySimulator", "main", "send_control", "serve_forever"]

DEFAULT_PORT = 5020
FRAMINGS = {"tcp": FramerType.SOCKET, "rtu_over_tcp": FramerType.RTU}
CONTROL_HELP = 'control commands: "door N open", "door N closed", "freeze", "thaw", "state"'

#: Matches every line the simulator writes; anything else in a log is corruption.
LOG_LINE_RE = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}) "
    r"(?P<event>"
    r"cmd unit=(?P<unit>\d+) fc=(?P<fc>\d+) addr=0x(?P<addr>[0-9a-f]{4}) "
    r"(?:value=0x(?P<value>[0-9a-f]{4})|count=(?P<count>\d+)) tid=(?P<tid>\d+)(?: dropped=(?:frozen|unit))?"
    r"|relay=(?P<relay>\d+) (?P<state>ON|OFF) (?:cmd|cause)=(?P<why>\w+)(?: pulse_ms=(?P<pulse_ms>\d+))?"
    r"|door=\d+ (?:OPEN|CLOSED)"
    r"|frozen=(?:yes|no)"
    r"|listening host=\S+ port=(?P<port>\d+) relays=\d+(?: framing=\w+ unit=\d+)?(?: control=\d+)?"
    r"|stopped"
    r")"
)


@dataclass(frozen=True)
class RelayEvent:
    """One relay state change; ``monotonic`` is time.monotonic() in the simulator process."""

    monotonic: float
    relay: int
    on: bool
    cause: str
    pulse_ms: int | None = None


class RelaySimulator:
    """An N-relay Modbus board answering its own unit id (default 1, like the real board) and
    staying silent for any other, over Modbus TCP or RTU-over-TCP framing.

    Coils 0..N-1 are the relays, discrete inputs 0..N-1 the door sensors.
    FC05 understands the board's extras: 0xFF00/0x0000/0x5500 on/off/toggle,
    address 0x00FF for all relays, 0x0200+n flash-on and 0x0400+n flash-off
    with value = duration in 100 ms (the board's whole 16-bit range); the flash
    timer runs here, like on the real board, so it completes whatever happens
    to the client.

    Every request and every relay/door change is written as one line with a
    single unbuffered write, so the log never holds partial or mixed lines.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        log_path: str | os.PathLike[str] | None = None,
        relays: int = 8,
        *,
        echo: bool = False,
        framing: str = "tcp",
        unit: int = 1,
        control_port: int | None = None,
    ) -> None:
        if not 1 <= relays < ALL_COILS_ADDRESS:
            raise ValueError(f"relays={relays} outside 1..{ALL_COILS_ADDRESS - 1}")
        if framing not in FRAMINGS:
            raise ValueError(f"framing {framing!r} not one of {tuple(FRAMINGS)}")
        if not 1 <= unit <= 247:
            raise ValueError(f"unit={unit} outside 1..247")
        self.framing = framing
        self.unit = unit
        self._requested_control_port = control_port
        self.control_port: int | None = None
        self._control: asyncio.AbstractServer | None = None
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self.log_path = os.fspath(log_path) if log_path is not None else None
        self.relays = relays
        self.echo = echo
        self._coils = [False] * relays
        self._doors = [False] * relays
        self._history: list[RelayEvent] = []
        self._frozen = False
        # One lock for state and log so line order always matches state order.
        self._cond = threading.Condition()
        self._log_fd: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ModbusTcpServer | None = None
        self._thread: threading.Thread | None = None
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._start_error: BaseException | None = None

    # -- lifecycle ---------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("simulator not started")
        return self._port

    def start(self) -> RelaySimulator:
        """Serve from a daemon thread; returns once the socket is listening."""
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        if self.log_path:
            self._log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="relay-simulator", daemon=True)
        self._thread.start()
        ready.wait()
        if self._start_error is not None:
            self._thread.join()
            self._thread = None
            self._close_log()
            raise self._start_error
        control = f" control={self.control_port}" if self.control_port is not None else ""
        self._emit(
            f"listening host={self.host} port={self._port} relays={self.relays} "
            f"framing={self.framing} unit={self.unit}{control}"
        )
        return self

    def stop(self) -> None:
        """Close the server and its connections; pending flash timers are dropped."""
        if self._thread is None or self._loop is None:
            return
        loop = self._loop
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=5)
            loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=5)
        self._thread = None
        self._emit("stopped")
        self._close_log()

    def __enter__(self) -> RelaySimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._listen())
        except BaseException as exc:  # handed to the starting thread
            self._start_error = exc
            loop.close()
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    async def _listen(self) -> None:
        # The datastore only backs function codes this class does not handle.
        placeholder = SimDevice(0, simdata=SimData(0, count=1, values=0, datatype=DataType.REGISTERS))
        self._server = ModbusTcpServer(
            placeholder,
            framer=FRAMINGS[self.framing],
            address=(self.host, self._requested_port),
            custom_pdu=_bind_handlers(self),
            # Lets a frozen board swallow requests without answering.
            ignore_missing_devices=True,
        )
        try:
            await self._server.serve_forever(background=True)
        except RuntimeError as exc:
            # pymodbus hides the errno in a log line; surface a plain OSError instead.
            raise OSError(f"cannot listen on {self.host}:{self._requested_port}") from exc
        sockets = self._server.transport.sockets  # type: ignore[attr-defined]
        self._port = sockets[0].getsockname()[1]
        if self._requested_control_port is not None:
            try:
                control_address = ("127.0.0.1", self._requested_control_port)
                self._control = await asyncio.start_server(self._serve_control, *control_address)
            except OSError as exc:
                await self._server.shutdown()
                raise OSError(f"cannot listen for control on 127.0.0.1:{control_address[1]}") from exc
            self.control_port = self._control.sockets[0].getsockname()[1]

    async def _serve_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One command per line, one answer per line ("ok ..." or "error ..."), until EOF."""
        try:
            while line := await reader.readline():
                writer.write((self.control(line.decode(errors="replace")) + "\n").encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _shutdown(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        if self._control is not None:
            self._control.close()
            await self._control.wait_closed()
        if self._server is not None:
            await self._server.shutdown()

    def _close_log(self) -> None:
        with self._cond:
            if self._log_fd is not None:
                os.close(self._log_fd)
                self._log_fd = None

    # -- test / operator API ----------------------------------------------

    def coil(self, n: int) -> bool:
        with self._cond:
            return self._coils[n]

    def coils(self) -> list[bool]:
        with self._cond:
            return list(self._coils)

    def door(self, n: int) -> bool:
        with self._cond:
            return self._doors[n]

    @property
    def history(self) -> list[RelayEvent]:
        with self._cond:
            return list(self._history)

    def set_door(self, n: int, open: bool) -> None:
        """Drive door-sensor input n (True = input active = door open)."""
        with self._cond:
            self._doors[n] = open
            self._emit(f"door={n} {'OPEN' if open else 'CLOSED'}")

    def set_frozen(self, frozen: bool = True) -> None:
        """Emulate hung firmware: keep accepting TCP and requests but never act or answer."""
        with self._cond:
            self._frozen = frozen
            self._emit(f"frozen={'yes' if frozen else 'no'}")

    def control(self, line: str) -> str:
        """Carry out one control command (see CONTROL_HELP); the answer is one line."""
        words = line.split()
        if len(words) == 3 and words[0] == "door" and words[2] in ("open", "closed"):
            if not words[1].isdigit() or not 0 <= int(words[1]) < self.relays:
                return f"error door number outside 0..{self.relays - 1}"
            self.set_door(int(words[1]), words[2] == "open")
            return f"ok door={words[1]} {words[2]}"
        if words in (["freeze"], ["thaw"]):
            self.set_frozen(words[0] == "freeze")
            return f"ok {words[0]}"
        if words == ["state"]:
            with self._cond:
                coils = "".join("1" if on else "0" for on in self._coils)
                doors = "".join("1" if on else "0" for on in self._doors)
                frozen = "yes" if self._frozen else "no"
            return f"ok coils={coils} doors={doors} frozen={frozen} framing={self.framing} unit={self.unit}"
        return f"error unknown command; {CONTROL_HELP}"

    def wait_coil(self, n: int, on: bool, timeout: float) -> bool:
        """Block until relay n is in state ``on``; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._coils[n] == on, timeout)

    # -- request handling (event-loop thread) -----------------------------

    def _emit(self, text: str) -> None:
        with self._cond:
            stamp = dt.datetime.now().isoformat(timespec="microseconds")
            line = f"{stamp} {text}\n"
            if self._log_fd is not None:
                os.write(self._log_fd, line.encode())
            if self.echo:
                sys.stdout.write(line)
                sys.stdout.flush()

    def _command(self, pdu: ModbusPDU, detail: str) -> None:
        """Log a request; a frozen board, or a request for another unit id, gets no answer
        (pymodbus drops the request on NoSuchIdException, ignore_missing_devices)."""
        with self._cond:
            dropped = "frozen" if self._frozen else "unit" if pdu.dev_id != self.unit else ""
            self._emit(
                f"cmd unit={pdu.dev_id} fc={pdu.function_code} {detail} "
                f"tid={pdu.transaction_id}" + (f" dropped={dropped}" if dropped else "")
            )
        if dropped:
            raise NoSuchIdException(dropped)

    def _set(self, n: int, on: bool, why: str, *, pulse_ms: int | None = None) -> None:
        """Apply one relay change; ``why`` is 'cmd=...' or 'cause=...'."""
        if not why.startswith("cause="):
            # A new command on a relay overrides its running flash timer.
            handle = self._timers.pop(n, None)
            if handle is not None:
                handle.cancel()
        suffix = f" pulse_ms={pulse_ms}" if pulse_ms is not None else ""
        with self._cond:
            self._coils[n] = on
            self._history.append(RelayEvent(time.monotonic(), n, on, why.split("=", 1)[1], pulse_ms))
            self._emit(f"relay={n} {'ON' if on else 'OFF'} {why}{suffix}")
            self._cond.notify_all()

    def _flash(self, n: int, on: bool, units: int) -> None:
        pulse_ms = units * FLASH_UNIT_MS
        self._set(n, on, "cmd=flash" if on else "cmd=flash_off", pulse_ms=pulse_ms)
        assert self._loop is not None
        self._timers[n] = self._loop.call_later(pulse_ms / 1000, self._pulse_end, n, not on)

    def _pulse_end(self, n: int, on: bool) -> None:
        self._timers.pop(n, None)
        self._set(n, on, "cause=pulse_end")

    def _write_single(self, pdu: RawWriteSingleCoil) -> ModbusPDU:
        address, value = pdu.address, pdu.value
        self._command(pdu, f"addr=0x{address:04x} value=0x{value:04x}")
        fc = pdu.function_code
        if address < self.relays or address == ALL_COILS_ADDRESS:
            targets = range(self.relays) if address == ALL_COILS_ADDRESS else [address]
            why = "cmd=all" if address == ALL_COILS_ADDRESS else "cmd=coil"
            if value not in (COIL_ON, COIL_OFF, COIL_TOGGLE):
                return ExceptionResponse(fc, ExcCodes.ILLEGAL_VALUE)
            for n in targets:
                if value == COIL_TOGGLE:
                    self._set(n, not self.coil(n), "cmd=toggle")
                else:
                    self._set(n, value == COIL_ON, why)
        elif FLASH_ON_BASE <= address < FLASH_ON_BASE + self.relays or (
            FLASH_OFF_BASE <= address < FLASH_OFF_BASE + self.relays
        ):
            if not 1 <= value <= FLASH_BOARD_MAX_UNITS:
                return ExceptionResponse(fc, ExcCodes.ILLEGAL_VALUE)
            on = address < FLASH_OFF_BASE
            self._flash(address - (FLASH_ON_BASE if on else FLASH_OFF_BASE), on, value)
        else:
            return ExceptionResponse(fc, ExcCodes.ILLEGAL_ADDRESS)
        # The board answers FC05 by echoing the request.
        return RawWriteSingleCoil(address, value, pdu.dev_id, pdu.transaction_id)

    def _write_multiple(self, pdu: WriteMultipleCoilsRequest) -> ModbusPDU:
        self._command(pdu, f"addr=0x{pdu.address:04x} count={pdu.count}")
        if pdu.address + pdu.count > self.relays:
            return ExceptionResponse(pdu.function_code, ExcCodes.ILLEGAL_ADDRESS)
        for offset, bit in enumerate(pdu.bits[: pdu.count]):
            self._set(pdu.address + offset, bool(bit), "cmd=multi")
        return WriteMultipleCoilsResponse(address=pdu.address, count=pdu.count, dev_id=pdu.dev_id)

    def _read(self, pdu: ReadCoilsRequest, inputs: bool) -> ModbusPDU:
        self._command(pdu, f"addr=0x{pdu.address:04x} count={pdu.count}")
        if pdu.address + pdu.count > self.relays:
            return ExceptionResponse(pdu.function_code, ExcCodes.ILLEGAL_ADDRESS)
        with self._cond:
            source = self._doors if inputs else self._coils
            bits = source[pdu.address : pdu.address + pdu.count]
        response = ReadDiscreteInputsResponse if inputs else ReadCoilsResponse
        return response(bits=bits, dev_id=pdu.dev_id)


def _bind_handlers(sim: RelaySimulator) -> list[type[ModbusPDU]]:
    """Request classes that route this server's bit requests to ``sim``.

    pymodbus registers custom PDUs per server instance, so binding ``sim`` in
    fresh subclasses keeps several simulators in one process independent.
    """

    class WriteSingle(RawWriteSingleCoil):
        async def datastore_update(self, context: object, device_id: int) -> ModbusPDU:
            return sim._write_single(self)

    class WriteMultiple(WriteMultipleCoilsRequest):
        async def datastore_update(self, context: object, device_id: int) -> ModbusPDU:
            return sim._write_multiple(self)

    class ReadCoils(ReadCoilsRequest):
        async def datastore_update(self, context: object, device_id: int) -> ModbusPDU:
            return sim._read(self, inputs=False)

    class ReadInputs(ReadDiscreteInputsRequest):
        async def datastore_update(self, context: object, device_id: int) -> ModbusPDU:
            return sim._read(self, inputs=True)

    return [WriteSingle, WriteMultiple, ReadCoils, ReadInputs]


def serve_forever(
    host: str,
    port: int,
    log_path: str | None = None,
    *,
    relays: int = 8,
    echo: bool = True,
    framing: str = "tcp",
    unit: int = 1,
    control_port: int | None = None,
) -> None:
    """Run a simulator in the foreground until SIGINT/SIGTERM (signals only hooked in the main thread)."""
    sim = RelaySimulator(
        host, port, log_path=log_path, relays=relays, echo=echo, framing=framing, unit=unit, control_port=control_port
    )
    stop = threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.Signals.SIGINT, signal.Signals.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        sim.start()
        # Short waits keep the main thread responsive to signals.
        while not stop.wait(0.25):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def send_control(port: int, line: str, *, timeout: float = 2.0) -> str:
    """Send one control command to a running simulator on 127.0.0.1:port; returns its answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(line.strip().encode() + b"\n")
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.decode(errors="replace").strip()


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m hardware.simulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--log", dest="log_path", help="append the event log here")
    parser.add_argument("--relays", type=int, default=8)
    parser.add_argument("--framing", choices=tuple(FRAMINGS), default="tcp", help="Modbus TCP, or RTU frames on TCP")
    parser.add_argument("--unit", type=int, default=1, help="the board's unit id; other ids get no answer")
    parser.add_argument("--control-port", type=int, help="line-based control socket on 127.0.0.1 (0: a free port)")
    parser.add_argument("--send", metavar="COMMAND", help=f"send one command to a running simulator; {CONTROL_HELP}")
    parser.add_argument("--quiet", action="store_true", help="do not echo the log to stdout")
    args = parser.parse_args(argv)
    if args.send is not None:
        if not args.control_port:
            parser.error("--send needs the running simulator's --control-port")
        try:
            answer = send_control(args.control_port, args.send)
        except OSError as exc:
            print(f"relay simulator control on 127.0.0.1:{args.control_port}: {exc}", file=sys.stderr)
            return 1
        print(answer)
        return 0 if answer.startswith("ok") else 1
    try:
        serve_forever(
            args.host,
            args.port,
            args.log_path,
            relays=args.relays,
            echo=not args.quiet,
            framing=args.framing,
            unit=args.unit,
            control_port=args.control_port,
        )
    except (OSError, ValueError) as exc:
        print(f"relay simulator: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
