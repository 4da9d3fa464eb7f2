"""Fixtures of the API tests: two rooms on one simulated relay board, open all day."""

import pytest


@pytest.fixture
def door_rooms(db, sim):
    """Room A (relay 2) and Room B (relay 5) on the simulator, 300 ms pulses, 5-minute slots all day."""
    from clinic.rooms.models import RelayModule
    from tests import factories as f
    from tests.doors.helpers import open_all_day

    relay = RelayModule.objects.create(host="127.0.0.1", port=sim.port, unit=1)
    a = f.room("Room A", coil=2, relay=relay, pulse_ms=300)
    b = f.room("Room B", coil=5, relay=relay, pulse_ms=300)
    for room in (a, b):
        open_all_day(room)
    return a, b
