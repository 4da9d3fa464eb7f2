"""Whole booking processes driven from the API, ending in a final state with no open task."""

from datetime import timedelta

import pytest
from viewflow.workflow.status import STATUS

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from clinic.notifications.models import Notification
from tests import factories as f
from tests.workflows.helpers import armed_timers, assert_finished, clock_at, fire_timers, open_tasks, task_id
from workflows import sessions
from workflows.flows import BookingFlow


@pytest.fixture
def rooms(db):
    a, b = f.room("Room A", coil=0), f.room("Room B", coil=1)
    f.weekly_opening(a)
    f.weekly_opening(b)
    return a, b


@pytest.fixture
def booking(people, rooms, client_for):
    response = client_for(people.alice).post(
        "/api/bookings/", {"room": rooms[0].pk, "start": f.at(f.tomorrow(), "09:00").isoformat()}, format="json"
    )
    assert response.status_code == 201
    return Booking.objects.get(pk=response.json()["id"])


def approve(client, tid, **body):
    return client.post(f"/api/tasks/{tid}/approve/", body, format="json")


def reject(client, tid, reason="not today"):
    return client.post(f"/api/tasks/{tid}/reject/", {"reason": reason}, format="json")


def test_a_new_booking_opens_both_review_tasks(people, booking, client_for):
    assert sorted(t.flow_task.name for t in open_tasks(booking)) == ["room_review", "staff_review"]
    # Each review ends at the slot's start at the latest: its timer is the expiry.
    assert armed_timers(booking) == {"staff_review__timeout": booking.start, "room_review__timeout": booking.start}
    staff_tasks = client_for(people.sam).get("/api/tasks/").json()
    assert [t["kind"] for t in staff_tasks] == ["staff_review"]
    assert staff_tasks[0]["booking"]["donor"]["name"] == "Alice Wang"
    room_tasks = client_for(people.rita).get("/api/tasks/").json()
    assert [t["kind"] for t in room_tasks] == ["room_review"]
    assert "donor" not in room_tasks[0]["booking"]
    assert room_tasks[0]["booking"]["donor_code"] == people.alice.donor_code


def test_approve_and_approve_makes_it_approved(people, booking, client_for):
    assert approve(client_for(people.sam), task_id(booking, "staff_review")).status_code == 200
    booking.refresh_from_db()
    assert (booking.status, booking.staff_review, booking.room_review) == ("pending", "approved", "pending")
    response = approve(client_for(people.rita), task_id(booking, "room_review"), comment="ok")
    assert response.status_code == 200
    assert response.json()["booking"]["status"] == "approved"
    booking.refresh_from_db()
    assert (booking.status, booking.staff_review, booking.room_review) == ("approved", "approved", "approved")
    assert [t.flow_task.name for t in open_tasks(booking)] == ["check_in"]
    assert AuditEvent.objects.filter(action="booking.staff_review", actor=people.sam).exists()
    assert AuditEvent.objects.filter(action="booking.room_review", actor=people.rita).exists()


@pytest.mark.parametrize("first", ["staff", "room"])
def test_one_rejection_rejects_and_cancels_the_other_review(people, booking, client_for, first):
    if first == "staff":
        assert approve(client_for(people.sam), task_id(booking, "staff_review")).status_code == 200
        assert reject(client_for(people.rita), task_id(booking, "room_review")).status_code == 200
    else:
        assert reject(client_for(people.sam), task_id(booking, "staff_review")).status_code == 200
    booking.refresh_from_db()
    assert booking.status == "rejected"
    if first == "room":
        assert (booking.staff_review, booking.room_review) == ("rejected", "cancelled")
    else:
        assert (booking.staff_review, booking.room_review) == ("approved", "rejected")
    assert_finished(booking)
    # The room is free again at once.
    response = client_for(people.bob).post(
        "/api/bookings/", {"room": booking.room_id, "start": booking.start.isoformat()}, format="json"
    )
    assert response.status_code == 201


def test_reject_needs_a_reason(people, booking, client_for):
    response = client_for(people.sam).post(f"/api/tasks/{task_id(booking, 'staff_review')}/reject/", {}, format="json")
    assert response.status_code == 400
    booking.refresh_from_db()
    assert booking.staff_review == "pending"


def test_the_donor_is_told_the_reason_and_the_staff_note_stays_with_staff(people, booking, client_for):
    note = "Alice Wang 13800000001: HBsAg positive"
    response = client_for(people.sam).post(
        f"/api/tasks/{task_id(booking, 'staff_review')}/reject/",
        {"reason": "Please see the clinic's doctor before booking again.", "comment": note},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert note not in response.content.decode()
    booking.refresh_from_db()
    assert (booking.status, booking.staff_comment) == ("rejected", note)
    assert booking.reject_reason == "Please see the clinic's doctor before booking again."
    told = Notification.objects.get(recipient=people.alice, kind="booking.rejected")
    assert "see the clinic's doctor" in told.body and "HBsAg" not in told.body + str(told.data)
    for persona in (people.alice, people.rita):
        answer = client_for(persona).get(f"/api/bookings/{booking.pk}/").content.decode()
        assert "HBsAg" not in answer
    notes = Notification.objects.filter(body__contains="HBsAg") | Notification.objects.filter(data__icontains="HBsAg")
    assert not notes.exists()


def test_the_room_manager_may_move_the_booking_to_another_free_room(people, rooms, booking, client_for):
    response = approve(client_for(people.rita), task_id(booking, "room_review"), room=rooms[1].pk)
    assert response.status_code == 200, response.content
    booking.refresh_from_db()
    assert booking.room == rooms[1] and booking.room_review == "approved"


def test_a_move_to_a_taken_room_is_refused_and_changes_nothing(people, rooms, booking, client_for):
    f.booking(people.bob, rooms[1], booking.start)
    response = approve(client_for(people.rita), task_id(booking, "room_review"), room=rooms[1].pk)
    assert response.status_code == 409
    assert response.json()["code"] == "slot_taken"
    booking.refresh_from_db()
    assert booking.room == rooms[0] and booking.room_review == "pending"
    assert len(open_tasks(booking)) == 2


def test_staff_cannot_move_rooms(people, rooms, booking, client_for):
    response = approve(client_for(people.sam), task_id(booking, "staff_review"), room=rooms[1].pk)
    assert response.status_code == 403
    booking.refresh_from_db()
    assert booking.staff_review == "pending"


def test_a_done_task_is_a_409(people, booking, client_for):
    tid = task_id(booking, "staff_review")
    assert approve(client_for(people.sam), tid).status_code == 200
    response = approve(client_for(people.sam), tid)
    assert response.status_code == 409
    assert response.json()["code"] == "task_done"


def test_the_wrong_role_gets_a_403_on_a_task(people, booking, client_for):
    response = approve(client_for(people.rita), task_id(booking, "staff_review"))
    assert response.status_code == 403
    assert approve(client_for(people.alice), task_id(booking, "staff_review")).status_code == 403
    assert client_for(people.alice).get("/api/tasks/").status_code == 403
    booking.refresh_from_db()
    assert booking.staff_review == "pending"


def test_an_unknown_task_is_a_404(people, booking, client_for):
    assert approve(client_for(people.sam), 999999).status_code == 404


def test_removing_review_room_takes_the_tasks_away_at_once(people, booking, client_for):
    admin = client_for(people.adam)
    assert len(client_for(people.rita).get("/api/tasks/").json()) == 1
    admin.put("/api/roles/room_manager/permissions/", {"permissions": ["bookings.view_all_bookings"]}, format="json")
    assert client_for(people.rita).get("/api/tasks/").json() == []
    assert approve(client_for(people.rita), task_id(booking, "room_review")).status_code == 403
    admin.put(
        "/api/roles/room_manager/permissions/",
        {"permissions": ["bookings.view_all_bookings", "bookings.review_room"]},
        format="json",
    )
    assert len(client_for(people.rita).get("/api/tasks/").json()) == 1


def test_a_donor_cancels_while_pending(people, booking, client_for):
    response = client_for(people.alice).post(f"/api/bookings/{booking.pk}/cancel/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    booking.refresh_from_db()
    assert (booking.status, booking.staff_review, booking.room_review) == ("cancelled", "cancelled", "cancelled")
    assert_finished(booking)
    assert AuditEvent.objects.filter(action="booking.cancelled", actor=people.alice).exists()


def test_a_donor_cancels_while_approved(people, booking, client_for):
    approve(client_for(people.sam), task_id(booking, "staff_review"))
    approve(client_for(people.rita), task_id(booking, "room_review"))
    response = client_for(people.alice).post(f"/api/bookings/{booking.pk}/cancel/", format="json")
    assert response.status_code == 200
    booking.refresh_from_db()
    assert booking.status == "cancelled"
    assert_finished(booking)


def test_others_cannot_cancel_and_cancelling_twice_is_a_409(people, booking, client_for):
    assert client_for(people.bob).post(f"/api/bookings/{booking.pk}/cancel/").status_code == 404
    assert client_for(people.rita).post(f"/api/bookings/{booking.pk}/cancel/").status_code == 403
    assert client_for(people.sam).post(f"/api/bookings/{booking.pk}/cancel/").status_code == 200
    response = client_for(people.alice).post(f"/api/bookings/{booking.pk}/cancel/")
    assert response.status_code == 409
    assert response.json()["code"] == "not_active"


def test_an_in_progress_booking_cannot_be_cancelled_and_staff_close_it(people, booking, client_for):
    approve(client_for(people.sam), task_id(booking, "staff_review"))
    approve(client_for(people.rita), task_id(booking, "room_review"))
    sessions.check_in(booking=booking, actor=people.alice)
    response = client_for(people.alice).post(f"/api/bookings/{booking.pk}/cancel/")
    assert response.status_code == 409
    assert response.json()["code"] == "in_progress"
    assert client_for(people.alice).post(f"/api/bookings/{booking.pk}/close/").status_code == 403
    response = client_for(people.sam).post(
        f"/api/bookings/{booking.pk}/close/", {"reason": "left without scanning"}, format="json"
    )
    assert response.status_code == 200
    booking.refresh_from_db()
    assert booking.status == "completed" and booking.checked_out_at is not None
    assert_finished(booking)
    assert AuditEvent.objects.filter(action="booking.closed", actor=people.sam, reason="left without scanning").exists()


def test_close_refuses_a_booking_not_in_progress(people, booking, client_for):
    response = client_for(people.sam).post(f"/api/bookings/{booking.pk}/close/")
    assert response.status_code == 409
    assert response.json()["code"] == "not_in_progress"


def test_staff_reschedule_and_the_reviews_start_again(people, rooms, booking, client_for):
    approve(client_for(people.sam), task_id(booking, "staff_review"))
    new_start = f.at(f.tomorrow(), "14:00")
    response = client_for(people.sam).post(
        f"/api/bookings/{booking.pk}/reschedule/", {"room": rooms[1].pk, "start": new_start.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.content
    booking.refresh_from_db()
    assert (booking.room, booking.start, booking.status) == (rooms[1], new_start, "pending")
    assert (booking.staff_review, booking.room_review) == ("pending", "pending")
    assert sorted(t.flow_task.name for t in open_tasks(booking)) == ["room_review", "staff_review"]
    assert AuditEvent.objects.filter(action="booking.rescheduled").exists()
    assert (
        client_for(people.bob)
        .post(
            f"/api/bookings/{booking.pk}/reschedule/",
            {"room": rooms[0].pk, "start": new_start.isoformat()},
            format="json",
        )
        .status_code
        == 404
    )


def test_a_reschedule_onto_a_taken_slot_changes_nothing(people, rooms, booking, client_for):
    other = f.at(f.tomorrow(), "14:00")
    f.booking(people.bob, rooms[1], other)
    response = client_for(people.sam).post(
        f"/api/bookings/{booking.pk}/reschedule/", {"room": rooms[1].pk, "start": other.isoformat()}, format="json"
    )
    assert response.status_code == 409
    booking.refresh_from_db()
    assert booking.room == rooms[0] and booking.start == f.at(f.tomorrow(), "09:00")
    assert len(open_tasks(booking)) == 2


def test_expiry_of_an_unreviewed_booking(people, booking):
    now = booking.start + timedelta(seconds=1)
    assert fire_timers(now) == 1  # the first review's timer; the second is cancelled with it
    assert fire_timers(now) == 0
    booking.refresh_from_db()
    assert (booking.status, booking.staff_review, booking.room_review) == ("expired", "cancelled", "cancelled")
    assert_finished(booking)
    assert AuditEvent.objects.filter(action="booking.expired", object_id=str(booking.pk)).count() == 1


def test_no_expiry_before_the_start(people, booking):
    assert fire_timers(booking.start - timedelta(seconds=1)) == 0
    booking.refresh_from_db()
    assert booking.status == "pending"


def test_no_show(people, booking, client_for, settings):
    approve(client_for(people.sam), task_id(booking, "staff_review"))
    approve(client_for(people.rita), task_id(booking, "room_review"))
    grace = timedelta(minutes=settings.CHECK_IN_GRACE_MINUTES)
    assert fire_timers(booking.start + grace - timedelta(seconds=1)) == 0
    assert fire_timers(booking.start + grace) == 1
    assert fire_timers(booking.start + grace) == 0
    booking.refresh_from_db()
    assert booking.status == "no_show"
    assert_finished(booking)


def test_check_in_and_out_complete_the_process(people, booking, client_for):
    approve(client_for(people.sam), task_id(booking, "staff_review"))
    approve(client_for(people.rita), task_id(booking, "room_review"))
    checked_in = sessions.check_in(booking=booking, actor=people.alice)
    assert checked_in.status == "in_progress" == Booking.objects.get(pk=booking.pk).status
    finished = sessions.check_out(booking=booking, actor=people.alice)
    assert finished.status == "completed" == Booking.objects.get(pk=booking.pk).status
    assert_finished(booking)
    assert booking.processes.get().status == "DONE"


def test_overstays_are_flagged_once(people, booking, client_for, settings):
    approve(client_for(people.sam), task_id(booking, "staff_review"))
    approve(client_for(people.rita), task_id(booking, "room_review"))
    sessions.check_in(booking=booking, actor=people.alice)
    late = booking.end + timedelta(minutes=settings.CHECK_IN_GRACE_MINUTES)
    assert sessions.flag_overstays(late) == [booking.pk]
    assert sessions.flag_overstays(late) == []
    assert AuditEvent.objects.filter(action="booking.overstay").count() == 1


def test_the_sweep_fires_the_process_timers(people, booking):
    """The expiry is the process's own timer, fired by the periodic sweep (beat): no sweep of
    its own writes the status."""
    from workflows.tasks import sweep

    with clock_at(booking.start + timedelta(seconds=1)):
        assert sweep()["timers_fired"] == 1
        assert sweep()["timers_fired"] == 0
    booking.refresh_from_db()
    assert booking.status == "expired"
    assert_finished(booking)
    assert STATUS.CANCELED in set(booking.processes.get().task_set.values_list("status", flat=True))
    ends = booking.processes.get().task_set.filter(flow_task_type="END").values_list("flow_task", flat=True)
    assert list(ends) == [BookingFlow.end_expired]


def test_an_expiry_that_fails_half_way_is_run_again_by_the_next_sweep(people, booking, client_for, monkeypatch):
    """The staff review is done, the room review is not by the start: its timer fires, and the
    database drops while the expiry step writes. Viewflow keeps the step in ERROR (the booking
    still pending, its room still held); the sweep runs the step again, at once and then at
    each sweep until it goes through."""
    from django.db import OperationalError

    from clinic.bookings import services as booking_services
    from workflows.tasks import sweep

    real = booking_services.set_status
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= 2:  # the timer's run, and the same sweep's first retry
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    approve(client_for(people.sam), task_id(booking, "staff_review"))
    monkeypatch.setattr(booking_services, "set_status", flaky)
    with clock_at(booking.start + timedelta(seconds=1)):
        first = sweep()
        booking.refresh_from_db()
        assert (first["timers_fired"], first["steps_revived"], booking.status) == (1, 0, "pending")
        assert open_tasks(booking).filter(status=STATUS.ERROR).count() == 1
        second = sweep()
    assert (second["timers_fired"], second["steps_revived"], calls["n"]) == (0, 1, 3)
    booking.refresh_from_db()
    assert (booking.status, booking.staff_review, booking.room_review) == ("expired", "approved", "cancelled")
    assert_finished(booking)
    assert AuditEvent.objects.filter(action="booking.expired", object_id=str(booking.pk)).count() == 1
