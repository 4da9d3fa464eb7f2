"""room.state: a room's occupancy changed; pushed (not stored) after commit to the room board's
watchers (room managers and everyone who sees all bookings), with the room and its state only.
Who hears it on a socket: tests/realtime/test_socket.py."""

from __future__ import annotations

import pytest
from django.utils import timezone

from clinic.notifications import services
from clinic.notifications.models import Notification
from tests import factories as f
from workflows import reviews, sessions
from workflows.flows import BookingFlow


@pytest.fixture
def room(db):
    return f.room("Room A")


def test_check_in_and_finish_announce_the_room_after_commit_in_the_commits_one_message(
    people, room, monkeypatch, django_capture_on_commit_callbacks
):
    from tests.workflows.helpers import task_id

    sent = []
    monkeypatch.setattr("clinic.notifications.tasks.deliver_batch.delay", lambda *args: sent.append(args))
    booking = f.booking(people.alice, room, timezone.now())
    with django_capture_on_commit_callbacks(execute=True):  # committed: their messages are gone
        BookingFlow.start.run(booking=booking)
        reviews.complete_review(task_id=task_id(booking, "staff_review"), user=people.sam, decision="approved")
        reviews.complete_review(task_id=task_id(booking, "room_review"), user=people.rita, decision="approved")
    assert len(sent) == 1 and sent[0][1:] == ()  # that one transaction's rows, no room
    sent.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sessions.check_in(booking=booking, actor=people.alice)
    assert sent == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert sent == [([], [room.pk])]
    with django_capture_on_commit_callbacks(execute=True):
        sessions.check_out(booking=booking, actor=people.alice)
    # The finish tells the donor and the staff, and the room board, in one message.
    completed = list(Notification.objects.filter(kind="booking.completed").order_by("pk").values_list("pk", flat=True))
    assert len(completed) == 2  # alice and sam
    assert sent[1:] == [(completed, [room.pk])]
    assert not Notification.objects.filter(kind="room.state").exists()  # push-only


def test_the_event_carries_the_room_and_its_state_never_the_donor(people, room):
    now = timezone.now()
    f.booking(people.alice, room, now, status="in_progress", checked_in_at=now)
    event = services.room_state_event(room.pk)
    assert event == {"kind": "room.state", "data": {"room": room.pk, "name": "Room A", "state": "in_use"}}
    assert people.alice.donor_code not in str(event)
