"""Waveshare-style relay-board Modbus addressing and a raw FC05 PDU shared by adapter and simulator."""

from __future__ import annotations

import math
import struct

from pymodbus.pdu import ModbusPDU

COIL_ON = 0xFF00
COIL_OFF = 0x0000
COIL_TOGGLE = 0x5500
ALL_COILS_ADDRESS = 0x00FF
FLASH_ON_BASE = 0x0200
FLASH_OFF_BASE = 0x0400
FLASH_UNIT_MS = 100
# Waveshare documents the flash interval as a 16-bit count of 100 ms (the board
# takes 1..0xFFFF); the adapter does not rely on the top half, so firmware that
# treats the value as signed still works.
FLASH_BOARD_MAX_UNITS = 0xFFFF
FLASH_MAX_UNITS = 0x7FFF


def flash_units(pulse_ms: int) -> int:
    """Convert a pulse length in ms to the board's 100 ms units, rounding up."""
    units = math.ceil(pulse_ms / FLASH_UNIT_MS)
    if not 1 <= units <= FLASH_MAX_UNITS:
        raise ValueError(f"pulse_ms={pulse_ms} outside 1..{FLASH_MAX_UNITS * FLASH_UNIT_MS}")
    return units


class RawWriteSingleCoil(ModbusPDU):
    """FC05 "write single coil" that keeps the 16-bit value verbatim.

    pymodbus' own WriteSingleCoilRequest only carries a bool, so it cannot
    express the board's flash command (value = duration) and cannot verify
    the echoed value either. Used as request on the client, as the response
    decoder (for echo checking), and as the base of the simulator's handler.
    """

    function_code = 5
    rtu_frame_size = 8

    def __init__(
        self,
        address: int = 0,
        value: int = 0,
        dev_id: int = 0,
        transaction_id: int = 0,
    ) -> None:
        super().__init__(dev_id=dev_id, transaction_id=transaction_id, address=address)
        self.value = value
        self.bits = [bool(value)]

    def encode(self) -> bytes:
        self.verifyAddress()
        if not 0 <= self.value <= 0xFFFF:
            raise ValueError(f"FC05 value {self.value} is not 16 bit")
        return struct.pack(">HH", self.address, self.value)

    def decode(self, data: bytes) -> None:
        self.address, self.value = struct.unpack(">HH", data[:4])
        self.bits = [bool(self.value)]
