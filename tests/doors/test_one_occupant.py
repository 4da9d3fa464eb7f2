"""Two people at one door: however many donors scan one room's door at the same instant, one
gets in, the relay pulses once, and the others are told the room is in use.

Real threads with their own database connections (transactional test) and the relay simulator
over TCP; on PostgreSQL (the room's row lock) and on a SQLite file (IMMEDIATE transactions)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from clinic.bookings.occupancy import DoorRefused
from clinic.rooms.models import RelayModule
from tests import factories as f
from tests.clinic.bookings.test_booking_races import race
from workflows import doors

from .helpers import SLOT_MINUTES, approved_booking, current_slot, open_all_day

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("held_deliveries"),
    pytest.mark.db_sensitive,
]

DONORS = 25


def test_donors_scanning_one_door_at_the_same_instant_never_share_the_room(people, sim):
    """Tomorrow at noon, on the door's clock: a session that ran from 09:00 to 11:59 kept 25
    donors out whose slots fell in it. Their windows stay open until 12:14, nobody's slot is
    running and none of them comes before another that is not over: each alone would get in.
    They all scan at noon."""
    relay = RelayModule.objects.create(host="127.0.0.1", port=sim.port, unit=1)
    room = f.room("Room A", coil=3, relay=relay, pulse_ms=300)
    open_all_day(room)
    noon = f.at(f.tomorrow(), "12:00")
    first = noon - timedelta(minutes=SLOT_MINUTES * (DONORS + 1))
    donors = [f.client_user(f"donor{n}", phone=f"1390000{n:04d}") for n in range(DONORS)]
    bookings = [
        approved_booking(people, room, first + timedelta(minutes=SLOT_MINUTES * n), donor=donor)
        for n, donor in enumerate(donors)
    ]
    f.booking(
        people.alice,
        room,
        first - timedelta(minutes=SLOT_MINUTES),
        minutes=SLOT_MINUTES,
        status="completed",
        checked_in_at=f.at(f.tomorrow(), "09:00"),
        checked_out_at=noon - timedelta(minutes=1),
    )

    outcomes = race([lambda donor=donor: doors.scan(user=donor, door=room.door_token, now=noon) for donor in donors])

    entered = [o for o in outcomes if isinstance(o, doors.ScanResult)]
    refused = [o for o in outcomes if isinstance(o, DoorRefused)]
    assert len(entered) == 1, outcomes
    assert len(refused) == DONORS - 1, outcomes
    assert {o.code for o in refused} == {"room_in_use"}
    assert Booking.objects.filter(room=room, status="in_progress").count() == 1
    assert Booking.objects.filter(pk__in=[b.pk for b in bookings], status="approved").count() == DONORS - 1
    assert sim.wait_coil(3, False, timeout=2)
    assert [(e.relay, e.on) for e in sim.history] == [(3, True), (3, False)]
    scans = AuditEvent.objects.filter(action="door.scan")
    assert scans.filter(outcome="success").count() == 1
    assert scans.filter(outcome="refused", reason="room_in_use").count() == DONORS - 1


def test_the_occupant_s_finish_and_the_next_donor_s_scan_at_once_leave_one_session(people, sim):
    relay = RelayModule.objects.create(host="127.0.0.1", port=sim.port, unit=1)
    room = f.room("Room A", coil=1, relay=relay, pulse_ms=300)
    open_all_day(room)
    slot = current_slot()
    approved_booking(people, room, slot)
    approved_booking(people, room, slot + timedelta(minutes=SLOT_MINUTES), donor=people.bob)
    doors.scan(user=people.alice, door=room.door_token)

    outcomes = race(
        [
            lambda: doors.scan(user=people.alice, door=room.door_token, action="finish"),
            lambda: doors.scan(user=people.bob, door=room.door_token),
        ]
    )
    assert isinstance(outcomes[0], doors.ScanResult) and outcomes[0].action == "finished"
    # bob either got in after alice's finish, or was told to wait: never both inside.
    assert Booking.objects.filter(room=room, status="in_progress").count() <= 1
    if isinstance(outcomes[1], DoorRefused):
        assert outcomes[1].code == "room_in_use"
        assert doors.scan(user=people.bob, door=room.door_token).action == "unlocked"
    assert Booking.objects.get(donor=people.bob).status == "in_progress"
