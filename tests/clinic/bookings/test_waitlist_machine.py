"""The waitlist's rules over any sequence: a Hypothesis state machine of clients joining and
leaving the line, booking and cancelling, offers running and the clock moving (offers lapse).

After every step:
- a slot is never both booked and held: no active booking overlaps an active hold;
- a client has at most one active hold, and only while he has no active booking;
- an entry is "offered" exactly while it has one active hold, which is its client's;
and right after the offers run, nobody eligible is left waiting while a slot he asked for is free.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from clinic.bookings import waitlist
from clinic.bookings.availability import slots_on
from clinic.bookings.models import ACTIVE_STATUSES, Booking, SlotHold, WaitlistEntry
from clinic.errors import DomainError
from tests import factories as f
from workflows import bookings as booking_flow

pytestmark = pytest.mark.db_sensitive

PROFILE = hypothesis_settings(
    max_examples=int(os.environ.get("WAITLIST_MACHINE_EXAMPLES", 25)),
    stateful_step_count=int(os.environ.get("WAITLIST_MACHINE_STEPS", 40)),
    derandomize="WAITLIST_MACHINE_EXAMPLES" not in os.environ,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
TIMES = ["09:00", "09:30", "10:00"]
WINDOWS = [(None, None), ("09:30", None), (None, "10:00"), ("10:00", "10:30")]


class World:
    def __init__(self, people) -> None:
        self.day = f.tomorrow()
        self.rooms = [f.room("Room A", coil=0), f.room("Room B", coil=1)]
        for room in self.rooms:
            f.weekly_opening(room, start="09:00", end="10:30")
        self.clients = [people.alice, people.bob, people.carl, f.client_user("dora", phone="13800000004")]


class WaitlistMachine(RuleBasedStateMachine):
    world: World

    def __init__(self) -> None:
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()  # each example is rolled back at its teardown
        self.now = timezone.now()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def attempt(self, call) -> None:
        try:
            with transaction.atomic():
                call()
        except DomainError:
            pass

    @rule(who=st.integers(0, 3), window=st.sampled_from(WINDOWS), room=st.sampled_from([None, 0, 1]))
    def join(self, who, window, room) -> None:
        from datetime import time

        after, before = (time.fromisoformat(t) if t else None for t in window)
        room_id = self.world.rooms[room].pk if room is not None else None
        client = self.world.clients[who]
        self.attempt(
            lambda: waitlist.join(client=client, day=self.world.day, after=after, before=before, room_id=room_id)
        )

    @rule(who=st.integers(0, 3))
    def leave(self, who) -> None:
        entry = WaitlistEntry.objects.filter(client=self.world.clients[who], state__in=WaitlistEntry.LIVE).first()
        if entry is not None:
            waitlist.leave(client=entry.client, entry_id=entry.pk)

    @rule(who=st.integers(0, 3), at=st.sampled_from(TIMES), room=st.integers(0, 1))
    def book(self, who, at, room) -> None:
        client = self.world.clients[who]
        start = f.at(self.world.day, at)
        self.attempt(
            lambda: booking_flow.request_booking(
                actor=client, donor=client, room_id=self.world.rooms[room].pk, start=start
            )
        )

    @rule(who=st.integers(0, 3))
    def cancel(self, who) -> None:
        booking = Booking.objects.filter(donor=self.world.clients[who], status__in=ACTIVE_STATUSES).first()
        if booking is not None:
            self.attempt(lambda: booking_flow.cancel_booking(booking_id=booking.pk, actor=booking.donor))

    @rule(minutes=st.integers(0, 20))
    def offers(self, minutes) -> None:
        """The clock moves; the sweep lapses offers and runs them (as after each commit)."""
        self.now += timedelta(minutes=minutes)
        waitlist.sweep(self.now)
        self.nobody_eligible_waits_beside_a_free_slot()

    def nobody_eligible_waits_beside_a_free_slot(self) -> None:
        free = [
            (slot.start, slot.end, room.id)
            for slot in slots_on(self.world.day, now=self.now)
            if slot.start > self.now
            for room in slot.free_rooms
        ]
        for entry in WaitlistEntry.objects.filter(state="waiting").select_related("client__donor_profile"):
            if not waitlist._eligible(entry):
                continue
            assert not any(waitlist._matches(entry, *slot) for slot in free), (entry, free)

    @invariant()
    def a_slot_is_booked_or_held_never_both(self) -> None:
        for hold in SlotHold.objects.filter(state="active"):
            clash = Booking.objects.filter(
                status__in=ACTIVE_STATUSES, room=hold.room, start__lt=hold.end, end__gt=hold.start
            )
            assert not clash.exists(), (hold, list(clash))

    @invariant()
    def one_hold_per_client_and_none_beside_a_booking(self) -> None:
        for client in self.world.clients:
            holds = SlotHold.objects.filter(client=client, state="active").count()
            assert holds <= 1
            if holds:
                assert not Booking.objects.filter(donor=client, status__in=ACTIVE_STATUSES).exists()

    @invariant()
    def offered_exactly_while_held(self) -> None:
        for entry in WaitlistEntry.objects.all():
            holds = list(entry.holds.filter(state="active"))
            assert (entry.state == "offered") == (len(holds) == 1), (entry, holds)
            assert all(hold.client_id == entry.client_id for hold in holds)


@pytest.mark.django_db
def test_the_waitlist_rules_hold_over_any_sequence(people):
    WaitlistMachine.world = World(people)
    run_state_machine_as_test(WaitlistMachine, settings=PROFILE)
