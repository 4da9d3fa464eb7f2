"""The relay simulator speaks the board's FC05 dialect and logs every event as one parseable line."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusIOException
from pymodbus.framer import FramerType

from hardware.protocol import (
    ALL_COILS_ADDRESS,
    COIL_OFF,
    COIL_ON,
    COIL_TOGGLE,
    FLASH_OFF_BASE,
    FLASH_ON_BASE,
    RawWriteSingleCoil,
)
from hardware.simulator import LOG_LINE_RE, RelaySimulator, main, send_control


@pytest.fixture
def client(sim: RelaySimulator) -> Iterator[ModbusTcpClient]:
    c = ModbusTcpClient("127.0.0.1", port=sim.port, timeout=1, retries=0)
    c.register(RawWriteSingleCoil)
    assert c.connect()
    yield c
    c.close()


def write(client: ModbusTcpClient, address: int, value: int, unit: int = 1):
    return client.execute(False, RawWriteSingleCoil(address, value, dev_id=unit))


def test_plain_coils_toggle_and_all(sim: RelaySimulator, client: ModbusTcpClient) -> None:
    echo = write(client, 2, COIL_ON)
    assert (echo.address, echo.value) == (2, COIL_ON)
    assert sim.coils() == [False, False, True] + [False] * 5
    write(client, 2, COIL_TOGGLE)
    write(client, 0, COIL_TOGGLE)
    assert sim.coils() == [True] + [False] * 7
    write(client, ALL_COILS_ADDRESS, COIL_ON)
    assert all(sim.coils())
    write(client, ALL_COILS_ADDRESS, COIL_OFF)
    assert not any(sim.coils())

    client.write_coils(4, [True, False, True], device_id=1)
    assert sim.coils() == [False] * 4 + [True, False, True, False]
    assert client.read_coils(4, count=4, device_id=1).bits[:4] == [True, False, True, False]


def test_flash_on_and_flash_off_are_timed_by_the_board(sim: RelaySimulator, client: ModbusTcpClient) -> None:
    echo = write(client, FLASH_ON_BASE + 1, 2)
    assert (echo.address, echo.value) == (FLASH_ON_BASE + 1, 2)
    assert sim.coil(1)
    assert sim.wait_coil(1, False, timeout=1)

    write(client, 7, COIL_ON)
    write(client, FLASH_OFF_BASE + 7, 1)
    assert not sim.coil(7)
    assert sim.wait_coil(7, True, timeout=1)
    assert [(e.relay, e.on, e.cause) for e in sim.history[-3:]] == [
        (7, True, "coil"),
        (7, False, "flash_off"),
        (7, True, "pulse_end"),
    ]


def test_new_command_cancels_running_flash(sim: RelaySimulator, client: ModbusTcpClient) -> None:
    write(client, FLASH_ON_BASE + 3, 1)
    write(client, 3, COIL_ON)
    assert not sim.wait_coil(3, False, timeout=0.3)


@pytest.mark.parametrize(
    ("address", "value", "code"),
    [(3, 0x1234, 3), (FLASH_ON_BASE + 3, 0, 3), (FLASH_ON_BASE + 8, 5, 2), (0x0100, COIL_ON, 2)],
)
def test_illegal_requests_get_exceptions(
    sim: RelaySimulator, client: ModbusTcpClient, address: int, value: int, code: int
) -> None:
    response = write(client, address, value)
    assert response.isError()
    assert response.exception_code == code
    assert not any(sim.coils())


def test_door_inputs_are_read_and_other_unit_ids_get_no_answer(sim: RelaySimulator, client: ModbusTcpClient) -> None:
    sim.set_door(6, True)
    assert client.read_discrete_inputs(0, count=8, device_id=1).bits == [False] * 6 + [True, False]
    assert client.read_coils(8, count=1, device_id=1).isError()
    # A real board stays silent for another unit id, whatever the request.
    started = time.monotonic()
    with pytest.raises(ModbusIOException):
        client.read_coils(0, count=1, device_id=42)
    assert time.monotonic() - started < 1.5
    c = ModbusTcpClient("127.0.0.1", port=sim.port, timeout=0.5, retries=0)
    c.register(RawWriteSingleCoil)
    assert c.connect()
    with pytest.raises(ModbusIOException):
        c.execute(False, RawWriteSingleCoil(FLASH_ON_BASE + 2, 10, dev_id=2))
    c.close()
    assert not any(sim.coils()) and sim.history == []


def test_a_board_with_another_unit_id_answers_that_id_only(tmp_path: Path) -> None:
    with RelaySimulator(unit=7, log_path=tmp_path / "seven.log") as seven:
        c = ModbusTcpClient("127.0.0.1", port=seven.port, timeout=0.5, retries=0)
        c.register(RawWriteSingleCoil)
        assert c.connect()
        assert (c.execute(False, RawWriteSingleCoil(3, COIL_ON, dev_id=7))).value == COIL_ON
        with pytest.raises(ModbusIOException):
            c.read_coils(0, count=1, device_id=1)
        c.close()
        assert seven.coils() == [False, False, False, True] + [False] * 4
    lines = (tmp_path / "seven.log").read_text().splitlines()
    assert any("dropped=unit" in line for line in lines)
    assert all(LOG_LINE_RE.fullmatch(line) for line in lines), lines


def test_rtu_over_tcp_framing_speaks_rtu_frames_only(tmp_path: Path) -> None:
    with RelaySimulator(framing="rtu_over_tcp", log_path=tmp_path / "rtu.log") as rtu:
        c = ModbusTcpClient("127.0.0.1", port=rtu.port, framer=FramerType.RTU, timeout=0.5, retries=0)
        c.register(RawWriteSingleCoil)
        assert c.connect()
        echo = c.execute(False, RawWriteSingleCoil(FLASH_ON_BASE + 1, 2, dev_id=1))
        assert (echo.address, echo.value) == (FLASH_ON_BASE + 1, 2)
        assert rtu.coil(1)
        assert rtu.wait_coil(1, False, timeout=1)
        c.close()
        # A Modbus TCP client gets nothing from an RTU-over-TCP board (the installer's usual mistake).
        tcp = ModbusTcpClient("127.0.0.1", port=rtu.port, timeout=0.5, retries=0)
        assert tcp.connect()
        with pytest.raises(ModbusIOException):
            tcp.read_coils(0, count=1, device_id=1)
        tcp.close()
    assert all(LOG_LINE_RE.fullmatch(line) for line in (tmp_path / "rtu.log").read_text().splitlines())


def test_the_whole_flash_range_of_the_board_is_accepted(sim: RelaySimulator, client: ModbusTcpClient) -> None:
    for value in (0x7FFF, 0x8000, 0xFFFF):
        echo = write(client, FLASH_ON_BASE + 4, value)
        assert not echo.isError() and echo.value == value
    assert sim.coil(4) and sim.history[-1].pulse_ms == 0xFFFF * 100
    write(client, 4, COIL_OFF)  # a new command ends the running flash
    assert not sim.coil(4)


def test_door_inputs_and_freezing_from_the_control_socket() -> None:
    with RelaySimulator(control_port=0) as board:
        assert board.control_port is not None
        assert send_control(board.control_port, "door 3 open") == "ok door=3 open"
        assert board.door(3)
        assert send_control(board.control_port, "state").startswith("ok coils=00000000 doors=00010000 frozen=no")
        assert send_control(board.control_port, "freeze") == "ok freeze"
        assert send_control(board.control_port, "door 9 open").startswith("error door number outside 0..7")
        assert send_control(board.control_port, "open the pod bay doors").startswith("error unknown command")
        assert "frozen=yes" in send_control(board.control_port, "state")
        assert send_control(board.control_port, "thaw") == "ok thaw"
        assert send_control(board.control_port, "door 3 closed") == "ok door=3 closed"
        assert not board.door(3)


def test_the_command_line_sends_a_control_command_to_a_running_simulator(capsys) -> None:
    with RelaySimulator(control_port=0) as board:
        assert main(["--control-port", str(board.control_port), "--send", "door 5 open"]) == 0
        assert capsys.readouterr().out.strip() == "ok door=5 open"
        assert board.door(5)
        assert main(["--control-port", str(board.control_port), "--send", "door x open"]) == 1
    assert main(["--control-port", str(board.control_port), "--send", "state"]) == 1  # stopped
    assert "control on 127.0.0.1" in capsys.readouterr().err


def test_every_log_line_is_parseable(sim: RelaySimulator, client: ModbusTcpClient, tmp_path: Path) -> None:
    write(client, FLASH_ON_BASE, 1)
    sim.set_door(0, True)
    sim.set_frozen(True)
    sim.set_frozen(False)
    client.read_coils(0, count=8, device_id=1)
    assert sim.wait_coil(0, False, timeout=1)
    lines = (tmp_path / "relays.log").read_text().splitlines()
    assert len(lines) == 8
    assert all(LOG_LINE_RE.fullmatch(line) for line in lines), lines
