"""A held slot is never double-booked: real threads on a real database (PostgreSQL's waitlist
lock, SQLite's IMMEDIATE transactions), each with its own connection."""

from __future__ import annotations

from collections import Counter

import pytest

from clinic.bookings import waitlist
from clinic.bookings.models import ACTIVE_STATUSES, Booking, SlotHold, WaitlistEntry
from tests import factories as f
from tests.clinic.bookings.test_booking_races import booker, committed, donors, race  # noqa: F401 (fixture)

pytestmark = [pytest.mark.db_sensitive, pytest.mark.django_db(transaction=True)]


def outcome(value) -> str:
    return "ok" if isinstance(value, Booking) else type(value).__name__


@pytest.fixture
def room(committed):  # noqa: F811
    room = f.room("Room A", coil=0)
    f.weekly_opening(room, start="09:00", end="10:00")
    return room


def test_only_the_holder_books_a_held_slot_whoever_races_him(room):
    day = f.tomorrow()
    start = f.at(day, "09:00")
    holder, *others = donors(21)
    WaitlistEntry.objects.create(client=holder, date=day)
    assert waitlist.offer(day) >= 1
    hold = SlotHold.objects.get(client=holder, start=start)
    outcomes = race([booker(holder, room, start)] + [booker(donor, room, start) for donor in others])
    counts = Counter(outcome(o) for o in outcomes)
    assert outcome(outcomes[0]) == "ok", outcomes[0]
    # Before his booking commits the slot is held; after it, taken.
    assert counts["ok"] == 1 and counts["SlotHeld"] + counts["SlotTaken"] == 20, counts
    (booked,) = Booking.objects.filter(status__in=ACTIVE_STATUSES)
    assert booked.donor == holder
    hold.refresh_from_db()
    assert hold.state == "used"


@pytest.mark.parametrize("round_", range(5))
def test_an_offer_and_a_booking_of_the_same_slot_never_both_win(room, round_):
    """A waiting client and ten others who book the slot as it is being offered: the slot ends
    booked by one of them or held for the waiting client, never both."""
    day = f.tomorrow()
    start = f.at(day, "09:00")
    Booking.objects.create(  # the other slot is taken: 09:00 is the only free one
        donor=f.client_user(f"busy{round_}", phone="13899999999"), room=room, start=f.at(day, "09:30"),
        end=f.at(day, "10:00"), status="approved",
    )  # fmt: skip
    waiter, *others = donors(11, prefix=f"r{round_}x")
    WaitlistEntry.objects.create(client=waiter, date=day)
    outcomes = race([lambda: waitlist.offer(day)] + [booker(donor, room, start) for donor in others])
    holds = SlotHold.objects.filter(state="active", room=room, start=start)
    booked = Booking.objects.filter(status__in=ACTIVE_STATUSES, room=room, start=start)
    assert holds.count() + booked.count() == 1, (outcomes, list(holds), list(booked))
    if holds.exists():
        assert holds.get().client == waiter
        assert all(outcome(o) == "SlotHeld" for o in outcomes[1:]), outcomes
    else:
        assert Counter(outcome(o) for o in outcomes[1:])["ok"] == 1
        assert outcomes[0] == 0
