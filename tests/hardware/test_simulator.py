"""The relay simulator speaks the board's FC05 dialect and logs every event as one parseable line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient

from hardware.protocol import (
    ALL_COILS_ADDRESS,
    COIL_OFF,
    COIL_ON,
    COIL_TOGGLE,
    FLASH_OFF_BASE,
    FLASH_ON_BASE,
    RawWriteSingleCoil,
)
from hardware.simulator import LOG_LINE_RE, RelaySimulator


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


def test_any_unit_and_door_inputs(sim: RelaySimulator, client: ModbusTcpClient) -> None:
    sim.set_door(6, True)
    assert client.read_discrete_inputs(0, count=8, device_id=42).bits == [False] * 6 + [True, False]
    assert client.read_coils(8, count=1, device_id=1).isError()


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
