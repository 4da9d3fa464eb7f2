"""Who holds a room, and until when a donor kept out may still come in."""

from datetime import timedelta

import pytest

from clinic.bookings import occupancy
from clinic.bookings.models import Booking
from tests import factories as f
from workflows import reviews
from workflows.flows import BookingFlow

GRACE = 15


@pytest.fixture(autouse=True)
def _grace(settings):
    settings.CHECK_IN_GRACE_MINUTES = GRACE


@pytest.fixture
def room(db):
    return f.room("Room A")


@pytest.fixture
def start():
    return f.at(f.tomorrow(), "09:00")


def session(donor, room, start, checked_in, checked_out=None, minutes=30):
    status = "completed" if checked_out else "in_progress"
    return f.booking(
        donor, room, start, minutes=minutes, status=status, checked_in_at=checked_in, checked_out_at=checked_out
    )


def test_the_window_closes_grace_after_the_start_when_nobody_is_in_the_way(people, room, start):
    booking = f.booking(people.bob, room, start, status="approved")
    assert occupancy.check_in_closes_at(booking) == start + timedelta(minutes=GRACE)
    assert not occupancy.is_no_show(booking, start + timedelta(minutes=GRACE) - timedelta(seconds=1))
    assert occupancy.is_no_show(booking, start + timedelta(minutes=GRACE))


def test_a_session_running_over_keeps_the_window_open_until_grace_after_it_ends(people, room, start):
    session(people.alice, room, start - timedelta(minutes=30), checked_in=start - timedelta(minutes=29))
    bob = f.booking(people.bob, room, start, status="approved")
    assert occupancy.check_in_closes_at(bob) is None
    assert not occupancy.is_no_show(bob, start + timedelta(hours=3))

    left = start + timedelta(minutes=40)
    Booking.objects.filter(donor=people.alice).update(status="completed", checked_out_at=left)
    assert occupancy.check_in_closes_at(bob) == left + timedelta(minutes=GRACE)
    assert not occupancy.is_no_show(bob, left + timedelta(minutes=GRACE) - timedelta(seconds=1))
    assert occupancy.is_no_show(bob, left + timedelta(minutes=GRACE))


def test_a_session_that_began_after_the_window_closed_reopens_nothing(people, room, start):
    bob = f.booking(people.bob, room, start, status="approved")
    later = start + timedelta(minutes=GRACE + 5)
    session(people.alice, room, start + timedelta(minutes=30), checked_in=later)
    assert occupancy.check_in_closes_at(bob) == start + timedelta(minutes=GRACE)


def test_sessions_one_after_another_each_push_the_window(people, room, start):
    session(
        people.alice,
        room,
        start - timedelta(minutes=30),
        checked_in=start - timedelta(minutes=30),
        checked_out=start + timedelta(minutes=10),
    )
    # carl got in first when the room freed, and stayed 20 minutes.
    session(
        people.carl,
        room,
        start - timedelta(minutes=60),
        checked_in=start + timedelta(minutes=11),
        checked_out=start + timedelta(minutes=31),
    )
    bob = f.booking(people.bob, room, start, status="approved")
    assert occupancy.check_in_closes_at(bob) == start + timedelta(minutes=31 + GRACE)


def test_the_holder_is_the_session_inside_or_the_donor_whose_turn_it_is(people, room, start):
    bob = f.booking(people.bob, room, start + timedelta(minutes=30), status="approved")
    alice = f.booking(people.alice, room, start, status="approved")
    # bob, early, never goes in ahead of alice, whose slot comes first...
    assert occupancy.holder(bob, start - timedelta(minutes=1)) == alice
    assert occupancy.holder(bob, start + timedelta(minutes=GRACE - 1)) == alice
    # ...until she can no longer come in, or her slot is over.
    assert occupancy.holder(bob, start + timedelta(minutes=GRACE)) is None
    assert occupancy.holder(bob, start + timedelta(minutes=30)) is None
    # alice, late within her slot's grace, is not held up by bob's later slot; bob's running
    # slot holds the room against her once she is kept out past it (see check_in_closes_at).
    assert occupancy.holder(alice, start + timedelta(minutes=5)) is None
    assert occupancy.holder(alice, start + timedelta(minutes=35)) == bob
    Booking.objects.filter(pk=alice.pk).update(status="in_progress", checked_in_at=start)
    assert occupancy.holder(bob, start + timedelta(hours=2)) == alice
    assert occupancy.overstaying(occupancy.holder(bob, start + timedelta(minutes=30)), start + timedelta(minutes=30))
    assert not occupancy.overstaying(occupancy.holder(bob, start + timedelta(minutes=5)), start + timedelta(minutes=5))


def test_the_sweep_never_makes_a_donor_kept_out_a_no_show(people, room, start):
    """bob's booking goes through the real process; alice's session is in the way."""
    from tests.workflows.helpers import armed_timers, assert_finished, fire_timers, task_id

    bob = f.booking(people.bob, room, start)
    BookingFlow.start.run(booking=bob)
    reviews.complete_review(task_id=task_id(bob, "staff_review"), user=people.sam, decision="approved")
    reviews.complete_review(task_id=task_id(bob, "room_review"), user=people.rita, decision="approved")
    alice = session(people.alice, room, start - timedelta(minutes=30), checked_in=start - timedelta(minutes=29))

    def status_at(moment):
        fire_timers(moment)
        return Booking.objects.get(pk=bob.pk).status

    # His window's timer fires at start + grace, finds him kept out, and waits on.
    assert status_at(start + timedelta(minutes=GRACE)) == "approved"
    assert armed_timers(bob) == {"check_in__timeout": start + timedelta(minutes=2 * GRACE)}
    assert status_at(start + timedelta(hours=1)) == "approved"
    left = start + timedelta(hours=1)
    Booking.objects.filter(pk=alice.pk).update(status="completed", checked_out_at=left)
    assert status_at(left + timedelta(minutes=GRACE - 1)) == "approved"
    assert status_at(left + timedelta(minutes=GRACE)) == "no_show"
    assert_finished(bob)
