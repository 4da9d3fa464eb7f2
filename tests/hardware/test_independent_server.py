"""The door-lock adapter against an independent Modbus TCP server: pymodbus's own server with a
plain datastore (8 coils, 8 discrete inputs, unit 1), configured here, not the project's relay
simulator, so that the adapter is not only proven against the board model we wrote ourselves.
Plain-coil mode is what a generic relay board offers; such a board has no flash command."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pymodbus.client import ModbusTcpClient
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from hardware.relays import LockOutcomeUnknown, LockUnavailable, ModbusRelayLock, RelayTarget

DOORS = [False, False, True, False, False, False, False, False]  # input 2 active: that door is open


@dataclass
class GenericBoard:
    port: int

    def coils(self) -> list[bool]:
        client = ModbusTcpClient("127.0.0.1", port=self.port, timeout=1, retries=0)
        try:
            assert client.connect()
            return list(client.read_coils(0, count=8, device_id=1).bits[:8])
        finally:
            client.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def board() -> Iterator[GenericBoard]:
    port = _free_port()
    device = SimDevice(
        1,
        simdata=(
            [SimData(0, count=8, values=False, datatype=DataType.BITS)],
            [SimData(0, values=DOORS, datatype=DataType.BITS)],
            [SimData(0, count=1, values=0, datatype=DataType.REGISTERS)],
            [SimData(0, count=1, values=0, datatype=DataType.REGISTERS)],
        ),
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> ModbusTcpServer:
        # pymodbus builds its server inside a running event loop.
        server = ModbusTcpServer(device, address=("127.0.0.1", port), ignore_missing_devices=True)
        await server.serve_forever(background=True)
        return server

    server = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=5)
    try:
        yield GenericBoard(port)
    finally:
        asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


def target(board: GenericBoard, **kwargs: object) -> RelayTarget:
    return RelayTarget("127.0.0.1", board.port, **{"unit": 1, "mode": "coil", **kwargs})  # type: ignore[arg-type]


def test_a_plain_coil_unlock_switches_that_relay_on_and_off_again(board: GenericBoard) -> None:
    lock = ModbusRelayLock()
    lock.unlock(target(board, coil=5, pulse_ms=300))
    assert board.coils() == [False] * 5 + [True, False, False]
    deadline = time.monotonic() + 3
    while board.coils()[5] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert board.coils() == [False] * 8


def test_coil_state_and_door_inputs_are_read(board: GenericBoard) -> None:
    lock = ModbusRelayLock()
    assert lock.read_state(target(board, coil=1)) is False
    assert lock.door_open(target(board), 2) is True
    assert lock.door_open(target(board), 3) is False


def test_a_unit_id_the_server_does_not_have_is_unavailable_in_time_and_nothing_changes(board: GenericBoard) -> None:
    started = time.monotonic()
    with pytest.raises(LockUnavailable) as info:
        ModbusRelayLock().unlock(target(board, unit=2, coil=1), deadline_s=1.0)
    assert time.monotonic() - started < 2.0
    assert not isinstance(info.value, LockOutcomeUnknown)
    assert "nothing written" in str(info.value)  # pymodbus's server answers exception 4; a board stays silent
    assert board.coils() == [False] * 8


def test_the_flash_command_of_a_generic_board_is_refused_and_nothing_changes(board: GenericBoard) -> None:
    with pytest.raises(LockUnavailable) as info:
        ModbusRelayLock().unlock(target(board, coil=1, mode="flash"), deadline_s=1.0)
    assert "refused write (exception 2)" in str(info.value)  # illegal address: it has no coil 0x0201
    assert not isinstance(info.value, LockOutcomeUnknown)
    assert board.coils() == [False] * 8
