"""Reviews racing each other: the process lock applies them one after the other, and every
process ends consistent (one join, one decision, nothing left open).

Real threads on a real database (PostgreSQL, or a SQLite file where IMMEDIATE transactions
serialise the writers), so these are transactional tests."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from clinic.notifications.models import Notification
from tests import factories as f
from tests.workflows.helpers import assert_finished, hold_deliveries, open_tasks, task_id
from workflows import bookings as booking_flow
from workflows import reviews
from workflows.flows import BookingFlow
from workflows.models import BookingProcess
from workflows.process import Busy, TaskDone

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.db_sensitive,
]

ROUNDS = 20


def race(*calls):
    """Run the calls at the same instant in threads; return [("ok", value) | ("error", exc)]."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=10)
            results[i] = ("ok", call())
        except Exception as exc:
            results[i] = ("error", exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racing call hung"
    return results


def nodes(booking, node) -> list[Task]:
    return list(Task.objects.filter(process__in=BookingProcess.objects.filter(booking=booking), flow_task=node))


@pytest.fixture(autouse=True)
def _default_roles(db):
    f.restore_roles()  # an earlier transactional test flushed them away


@pytest.fixture(autouse=True)
def held(monkeypatch):
    return hold_deliveries(monkeypatch)


def notified(booking, kind: str) -> list[int]:
    return list(Notification.objects.filter(booking=booking, kind=kind).values_list("recipient_id", flat=True))


@pytest.fixture
def rooms(db):
    a, b = f.room("Room A", coil=0), f.room("Room B", coil=1)
    f.weekly_opening(a)
    f.weekly_opening(b)
    return a, b


@pytest.fixture
def bookings(people, rooms):
    """ROUNDS pending bookings of distinct donors, spread over both rooms and the day."""
    made = []
    first = f.at(f.tomorrow(), "08:00")
    for i in range(ROUNDS):
        donor = f.client_user(f"donor{i}", role="donor", real_name=f"Donor {i}", phone=f"1370000{i:04d}")
        start = first + timedelta(minutes=30 * (i // 2))
        made.append(booking_flow.request_booking(actor=donor, donor=donor, room_id=rooms[i % 2].pk, start=start))
    return made


@pytest.fixture
def second_reviewer(people):
    return f.staff_user("stella", role="staff")


def test_two_reviewers_approve_the_same_staff_task_at_once(people, bookings, second_reviewer):
    for booking in bookings[:8]:
        tid = task_id(booking, "staff_review")
        reviewers = (people.sam, second_reviewer)
        results = race(
            *(
                lambda user=user: reviews.complete_review(task_id=tid, user=user, decision="approved", comment="ok")
                for user in reviewers
            )
        )
        outcomes = [kind for kind, _ in results]
        assert sorted(outcomes) == ["error", "ok"], results
        loser = next(value for kind, value in results if kind == "error")
        assert isinstance(loser, TaskDone | Busy), repr(loser)  # both are 409s
        winner = reviewers[outcomes.index("ok")]

        booking.refresh_from_db()
        assert (booking.status, booking.staff_review, booking.room_review) == ("pending", "approved", "pending")
        [staff_task] = nodes(booking, BookingFlow.staff_review)
        assert (staff_task.status, staff_task.owner_id) == (STATUS.DONE, winner.pk)
        # The join waits (started) for the room review.
        assert sorted(t.flow_task.name for t in open_tasks(booking)) == ["join", "room_review"]
        events = AuditEvent.objects.filter(action="booking.staff_review", object_id=str(booking.pk))
        assert list(events.values_list("actor_id", flat=True)) == [winner.pk]
        assert notified(booking, "booking.reviewed") == [booking.donor_id]
        assert [t.status for t in nodes(booking, BookingFlow.join)] == [STATUS.STARTED]
        # The process carries on normally afterwards.
        reviews.complete_review(task_id=task_id(booking, "room_review"), user=people.rita, decision="approved")
        booking.refresh_from_db()
        assert booking.status == "approved"
        assert [t.flow_task.name for t in open_tasks(booking)] == ["check_in"]


def test_a_staff_approval_racing_a_room_rejection_always_ends_rejected(people, bookings):
    orders = set()
    for booking in bookings:
        staff_tid, room_tid = task_id(booking, "staff_review"), task_id(booking, "room_review")
        staff, room = race(
            lambda: reviews.complete_review(task_id=staff_tid, user=people.sam, decision="approved"),
            lambda: reviews.complete_review(
                task_id=room_tid, user=people.rita, decision="rejected", reason="room out of order"
            ),
        )
        # The rejection always lands; the approval either landed first or found its task
        # cancelled by the rejection's join (409, never a 500 or a half-done state).
        assert staff[0] == "ok" or isinstance(staff[1], TaskDone), staff
        assert room[0] == "ok", room

        booking.refresh_from_db()
        assert booking.status == "rejected"
        assert booking.room_review == "rejected"
        if staff[0] == "ok":
            orders.add("staff first")
            assert booking.staff_review == "approved"
        else:
            orders.add("room first")
            assert booking.staff_review == "cancelled"
        assert_finished(booking)
        assert booking.processes.get().status == PROCESS.DONE
        assert len(nodes(booking, BookingFlow.join)) == 1
        assert len(nodes(booking, BookingFlow.decide)) == 1
        assert [t.status for t in nodes(booking, BookingFlow.rejected)] == [STATUS.DONE]
        assert nodes(booking, BookingFlow.approved) == []
        assert AuditEvent.objects.filter(action="booking.rejected", object_id=str(booking.pk)).count() == 1
        assert not AuditEvent.objects.filter(action="booking.approved", object_id=str(booking.pk)).exists()
        assert notified(booking, "booking.rejected") == [booking.donor_id]
        assert notified(booking, "booking.approved") == []
    # The room is free again for everyone: no rejected booking holds its slot.
    assert Booking.objects.filter(status="rejected").count() == ROUNDS
    print("orders seen:", sorted(orders))


def test_both_approvals_at_once_approve_exactly_once(people, bookings):
    for booking in bookings:
        staff_tid, room_tid = task_id(booking, "staff_review"), task_id(booking, "room_review")
        results = race(
            lambda: reviews.complete_review(task_id=staff_tid, user=people.sam, decision="approved"),
            lambda: reviews.complete_review(task_id=room_tid, user=people.rita, decision="approved", comment="ok"),
        )
        assert [kind for kind, _ in results] == ["ok", "ok"], results

        booking.refresh_from_db()
        assert (booking.status, booking.staff_review, booking.room_review) == ("approved", "approved", "approved")
        assert [t.status for t in nodes(booking, BookingFlow.join)] == [STATUS.DONE]
        assert [t.status for t in nodes(booking, BookingFlow.decide)] == [STATUS.DONE]
        assert [t.status for t in nodes(booking, BookingFlow.approved)] == [STATUS.DONE]
        assert nodes(booking, BookingFlow.rejected) == []
        assert [(t.flow_task.name, t.status) for t in open_tasks(booking)] == [("check_in", STATUS.NEW)]
        assert booking.processes.get().status == PROCESS.NEW
        assert AuditEvent.objects.filter(action="booking.approved", object_id=str(booking.pk)).count() == 1
        assert notified(booking, "booking.approved") == [booking.donor_id]
