"""The door's rules over any sequence: a Hypothesis state machine of donors booking, scanning
(plain, "open", "finish"), staff closing sessions and opening doors by hand, the sweep, and the
clock moving, over two rooms on one relay board (the simulator, over TCP).

After every step:
- at most one session per room;
- every pulse of the relay has a successful audit record with its intent;
and at every step, the relay pulses only for the room's occupant in his window (his first scan
in his check-in window, or a repeat within DOOR_REPEAT_SECONDS of his check-in), or for a manual
opening of a free room or a forced one.

CI runs a derandomized, bounded profile; `make door-machine` a longer random one
(DOOR_MACHINE_EXAMPLES, DOOR_MACHINE_STEPS)."""

from __future__ import annotations

import os
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from clinic.errors import DomainError
from clinic.rooms.models import RelayModule
from tests import factories as f
from tests.workflows.helpers import fire_timers
from workflows import doors, sessions

from .helpers import approved_booking, open_all_day

pytestmark = pytest.mark.db_sensitive

LONG = "DOOR_MACHINE_EXAMPLES" in os.environ
PROFILE = hypothesis_settings(
    max_examples=int(os.environ.get("DOOR_MACHINE_EXAMPLES", 20)),
    stateful_step_count=int(os.environ.get("DOOR_MACHINE_STEPS", 50)),
    derandomize=not LONG,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    print_blob=True,
)
SLOT = timedelta(minutes=5)
SLOTS = 9
COILS = (1, 6)
# What the examples ran into (printed with -s): a run that never meets a busy room proves little.
SEEN: Counter[str] = Counter()


class World:
    """What every example shares: the board, two rooms open all day, four donors, staff."""

    def __init__(self, people, sim) -> None:
        relay = RelayModule.objects.create(host="127.0.0.1", port=sim.port, unit=1)
        self.rooms = [f.room(f"Room {c}", coil=c, relay=relay, pulse_ms=100) for c in COILS]
        for room in self.rooms:
            open_all_day(room)
        self.donors = [people.alice, people.bob, f.client_user("dora", phone="13900000004")]
        self.donors.append(f.client_user("eric", phone="13900000005"))
        self.people, self.sim = people, sim
        self.t0 = f.at(f.tomorrow(), "09:00")


class DoorMachine(RuleBasedStateMachine):
    world: World

    def __init__(self) -> None:
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()  # each example is rolled back at its teardown
        self.now = self.world.t0 - timedelta(minutes=5)
        self.first_event = len(self.world.sim.history)
        self.first_audit = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # --- what the world looks like ---------------------------------------------------------

    def pulses(self, room=None) -> int:
        coils = {room.coil} if room is not None else set(COILS)
        return sum(1 for e in self.world.sim.history[self.first_event :] if e.on and e.relay in coils)

    def session(self, room) -> Booking | None:
        return Booking.objects.filter(room=room, status="in_progress").first()

    # --- rules ------------------------------------------------------------------------------

    @initialize()
    def back_to_back(self):
        """Two donors on consecutive slots of one room, a third next door: the case in point."""
        self._book(0, 0, 0)
        self._book(1, 0, 1)
        self._book(2, 1, 0)

    @rule(donor=st.integers(0, 3), room=st.integers(0, 1), k=st.integers(0, SLOTS - 1))
    def book(self, donor, room, k):
        self._book(donor, room, k)

    def _book(self, donor, room, k):
        donor, room = self.world.donors[donor], self.world.rooms[room]
        start = self.world.t0 + k * SLOT
        active = Booking.objects.filter(status__in=("pending", "approved", "in_progress"))
        if active.filter(donor=donor).exists() or active.filter(room=room, start__lt=start + SLOT, end__gt=start):
            return
        try:
            with transaction.atomic():
                approved_booking(self.world.people, room, start, donor=donor)
        except IntegrityError:
            return  # its booking day+1 (before the move) was taken: nothing to learn here

    @rule(donor=st.integers(0, 3), action=st.sampled_from([None, None, "open", "finish"]))
    def scan_his_door(self, donor, action):
        """A donor scans the door of his booking (or his last one)."""
        booking = Booking.objects.filter(donor=self.world.donors[donor]).order_by("-pk").first()
        if booking is not None:
            self._scan(donor, self.world.rooms.index(booking.room), action)

    @rule(donor=st.integers(0, 3), room=st.integers(0, 1), action=st.sampled_from([None, "open", "finish"]))
    def scan(self, donor, room, action):
        self._scan(donor, room, action)

    def _scan(self, donor, room, action):
        donor, room = self.world.donors[donor], self.world.rooms[room]
        before = self.pulses(room)
        inside = self.session(room)
        try:
            result = doors.scan(user=donor, door=room.door_token, action=action, now=self.now)
        except DomainError as exc:
            result = exc
        pulsed = self.pulses(room) - before
        SEEN[f"scan: {getattr(result, 'action', None) or getattr(result, 'code', '?')}"] += 1
        if isinstance(result, doors.ScanResult) and result.action == "unlocked":
            assert pulsed == 1
            booking = Booking.objects.get(pk=result.booking.pk)
            assert (booking.donor, booking.room, booking.status) == (donor, room, "in_progress")
            repeat = timedelta(seconds=django_settings.DOOR_REPEAT_SECONDS)
            assert booking.checked_in_at <= self.now < booking.checked_in_at + repeat
            if inside is None:  # a first scan: in his window, nobody's turn before his
                assert booking.checked_in_at == self.now
                assert self.now >= booking.start - timedelta(minutes=django_settings.EARLY_CHECK_IN_MINUTES)
                grace = timedelta(minutes=django_settings.CHECK_IN_GRACE_MINUTES)
                assert not Booking.objects.filter(
                    room=room, status="approved", start__lt=booking.start, end__gt=self.now, start__gt=self.now - grace
                ).exists(), "went in ahead of a donor whose slot comes first"
            else:
                assert inside.pk == booking.pk, "the door opened for someone else while a session ran"
        else:
            assert pulsed == 0, result
        if isinstance(result, DomainError) and result.code == "room_in_use":
            # Someone else holds the room: a session, or an approved donor whose slot is running
            # or comes before this donor's and is not over.
            mine = Booking.objects.get(donor=donor, room=room, status="approved")
            ahead = Booking.objects.filter(room=room, status="approved", end__gt=self.now).exclude(donor=donor)
            assert inside is not None or ahead.filter(Q(start__lte=self.now) | Q(start__lt=mine.start)).exists()

    @rule(room=st.integers(0, 1), force=st.booleans())
    def open_by_hand(self, room, force):
        room = self.world.rooms[room]
        occupied = self.session(room) is not None
        before = self.pulses(room)
        try:
            doors.open_manually(room=room, actor=self.world.people.sam, reason="check", force=force)
            opened = True
        except doors.RoomInUse:
            opened = False
        SEEN[f"open by hand: {'opened' if opened else 'refused'}{' (forced)' if force and occupied else ''}"] += 1
        assert opened == (force or not occupied)
        assert self.pulses(room) - before == int(opened)

    @rule(room=st.integers(0, 1))
    def staff_close(self, room):
        booking = self.session(self.world.rooms[room])
        if booking is not None:
            sessions.close_session(booking_id=booking.pk, actor=self.world.people.sam, reason="left", now=self.now)
            assert Booking.objects.get(pk=booking.pk).status == "completed"

    @rule(seconds=st.sampled_from([5, 30, 59, 61, 120, 180, 300, 600, 901]))
    def time_passes(self, seconds):
        self.now += timedelta(seconds=seconds)

    @rule()
    def sweep(self):
        fire_timers(self.now)
        sessions.flag_overstays(self.now)

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def one_session_per_room(self):
        for room in self.world.rooms:
            assert Booking.objects.filter(room=room, status="in_progress").count() <= 1

    @invariant()
    def every_pulse_is_audited(self):
        records = AuditEvent.objects.filter(
            pk__gt=self.first_audit, action__in=("door.scan", "door.manual_open"), outcome="success"
        )
        pulsed = [r for r in records if r.data.get("relay") == "pulsed"]
        assert len(pulsed) == self.pulses()
        intents = set(
            AuditEvent.objects.filter(pk__gt=self.first_audit, action="door.unlock_intent").values_list("pk", flat=True)
        )
        assert all(r.data.get("intent") in intents for r in pulsed)


def test_the_door_rules_hold_over_any_sequence(people, sim):
    DoorMachine.world = World(people, sim)
    SEEN.clear()
    run_state_machine_as_test(DoorMachine, settings=PROFILE)
    print("door machine:", dict(sorted(SEEN.items())))
    # The bounded profile must reach the cases the rules are about.
    assert SEEN["scan: unlocked"] and SEEN["scan: room_in_use"] and SEEN["scan: finished"], SEEN
