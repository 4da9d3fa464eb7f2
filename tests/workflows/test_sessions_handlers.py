"""The door steps run the handlers BookingFlow declares for them (workflows.sessions runs the
Handle nodes' activations itself, under the one process lock it holds)."""

from viewflow import this

from workflows import sessions
from workflows.flows import BookingFlow


def test_each_door_step_runs_the_handler_its_node_declares():
    for node in (BookingFlow.check_in, BookingFlow.check_out):
        declared = this.resolve(BookingFlow.instance, node._func)
        assert getattr(BookingFlow.instance, sessions.HANDLERS[node.name]) == declared


def test_a_door_step_takes_the_process_lock_once(people, django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from tests import factories as f
    from tests.workflows.helpers import task_id
    from workflows import reviews

    room = f.room("Room A")
    booking = f.booking(people.alice, room, timezone.now())
    BookingFlow.start.run(booking=booking)
    reviews.complete_review(task_id=task_id(booking, "staff_review"), user=people.sam, decision="approved")
    reviews.complete_review(task_id=task_id(booking, "room_review"), user=people.rita, decision="approved")
    for step in (sessions.check_in, sessions.check_out):
        with CaptureQueriesContext(connection) as queries:
            answer = step(booking=booking, actor=people.alice)
        statements = [q["sql"] for q in queries.captured_queries]
        assert len([s for s in statements if "FOR UPDATE" in s and "bookingprocess" in s]) == 1
        assert answer.room.name == "Room A" and answer.donor.donor_profile.donor_code  # what the answer shows
    booking.refresh_from_db()
    assert booking.status == "completed"
