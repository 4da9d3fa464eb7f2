"""The Viewflow inbox pages (HTML, session login): who sees them, what the task pages show,
and that a decision taken on the task form has the same effect as the API's."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from clinic.audit.models import AuditEvent
from clinic.notifications.models import Notification
from clinic.rooms.models import RelayModule
from tests import factories as f
from tests.workflows.helpers import assert_finished, open_tasks
from workflows import bookings, reviews
from workflows.flows import BookingFlow
from workflows.process import TaskDone

ALICE_PHONE = "13800000001"


@pytest.fixture
def rooms(db):
    a, b = f.room("Room A", coil=0), f.room("Room B", coil=1)
    f.weekly_opening(a)
    f.weekly_opening(b)
    return a, b


@pytest.fixture
def booking(people, rooms):
    return bookings.request_booking(
        actor=people.alice, donor=people.alice, room_id=rooms[0].pk, start=f.at(f.tomorrow(), "09:00")
    )


def page_text(response) -> str:
    """The visible text and attribute values of a page (Viewflow renders fields as web
    components whose labels and values are attributes)."""
    body = response.content.decode()
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", body, flags=re.S)
    attributes = " ".join(re.findall(r'[\w-]+="([^"]*)"', body))
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)) + " " + attributes)


def the_task(booking, name: str) -> Task:
    """The booking's latest task of the node `name`, whatever its status."""
    return Task.objects.filter(process__bookingprocess__booking=booking, flow_task=getattr(BookingFlow, name)).latest(
        "pk"
    )


def task_url(booking, name: str, action: str = "") -> str:
    task = the_task(booking, name)
    url = reverse(f"booking:{name}:index", args=[task.process_id, task.pk])
    return url + (f"{action}/" if action else "")


def app_pages() -> list[str]:
    return [reverse("booking:index"), reverse("booking:inbox"), reverse("booking:queue"), reverse("booking:archive")]


@pytest.mark.parametrize("who", ["sam", "rita"])
def test_the_inbox_pages_render_for_reviewers(people, booking, client, who):
    client.force_login(getattr(people, who))
    response = client.get("/workflow/", follow=True)
    assert response.status_code == 200
    assert response.request["PATH_INFO"] == reverse("booking:index")
    for url in app_pages():
        assert client.get(url).status_code == 200, url


def test_the_queue_lists_the_tasks_each_reviewer_may_take(people, booking, client):
    client.force_login(people.sam)
    queue = client.get(reverse("booking:queue")).content.decode()
    assert task_url(booking, "staff_review") in queue
    assert task_url(booking, "room_review") not in queue
    client.force_login(people.rita)
    queue = client.get(reverse("booking:queue")).content.decode()
    assert task_url(booking, "room_review") in queue
    assert task_url(booking, "staff_review") not in queue


@pytest.mark.parametrize("who", ["alice", "bob", "carl"])
def test_the_inbox_pages_are_refused_to_clients(people, booking, client, who):
    client.force_login(getattr(people, who))
    urls = [
        "/workflow/",
        *app_pages(),
        reverse("booking:process_list"),
        reverse("booking:process_detail", args=[booking.processes.get().pk]),
        task_url(booking, "staff_review", "detail"),
        task_url(booking, "staff_review"),
        task_url(booking, "staff_review", "assign"),
        task_url(booking, "room_review", "detail"),
    ]
    for url in urls:
        response = client.get(url, follow=True)
        assert response.status_code != 200, url
        text = page_text(response)
        assert people.alice.donor_code not in text and "Alice Wang" not in text, url
        assert "Room A" not in text, url
    response = client.post(task_url(booking, "staff_review", "assign"))
    assert response.status_code in (302, 403)
    assert [t.status for t in open_tasks(booking) if t.flow_task == BookingFlow.staff_review] == [STATUS.NEW]


def test_visitors_are_sent_to_the_login_page(booking, client):
    login_url = reverse("login")
    for url in ["/workflow/", reverse("booking:inbox"), task_url(booking, "staff_review", "detail")]:
        response = client.get(url, follow=True)
        text = page_text(response)
        assert "Room A" not in text and people_free(text), url
        if response.status_code == 200:  # redirected to a login page
            assert response.request["PATH_INFO"] in (login_url, "/accounts/login/"), url
        else:  # or refused with a way to log in
            assert response.status_code == 403, url
            assert f'href="{login_url}?next=' in response.content.decode(), url


def people_free(text: str) -> bool:
    return "Alice" not in text and ALICE_PHONE not in text


def test_the_staff_review_page_shows_the_booking_and_the_donors_name(people, booking, client):
    client.force_login(people.sam)
    # Before taking the task, its brief already names slot, room and donor code in local time.
    detail = page_text(client.get(task_url(booking, "staff_review", "detail")))
    assert "09:00–09:30" in detail and "Room A" in detail and people.alice.donor_code in detail
    assert "Alice Wang" not in detail
    # An unassigned task's page leads to "assign".
    response = client.get(task_url(booking, "staff_review"))
    assert response.status_code == 302 and response["Location"] == task_url(booking, "staff_review", "assign")
    assert client.post(task_url(booking, "staff_review", "assign")).status_code == 302
    response = client.get(task_url(booking, "staff_review"))
    assert response["Location"] == task_url(booking, "staff_review", "execute")

    response = client.get(task_url(booking, "staff_review", "execute"))
    assert response.status_code == 200
    text = page_text(response)
    assert f.tomorrow().isoformat() in text and "09:00–09:30" in text
    assert "Room A" in text
    assert people.alice.donor_code in text
    assert "Alice Wang" in text
    # The purpose of the visit and the donor's status, at a glance.
    assert "donation" in text and "Donor status" in text and "qualified" in text


def test_the_room_review_page_shows_the_donor_code_but_no_identity(people, booking, client):
    client.force_login(people.rita)
    assert client.post(task_url(booking, "room_review", "assign")).status_code == 302
    response = client.get(task_url(booking, "room_review", "execute"))
    assert response.status_code == 200
    text = page_text(response)
    assert people.alice.donor_code in text
    assert "09:00–09:30" in text and "Room A" in text
    assert "Alice Wang" not in text and ALICE_PHONE not in text
    # The purpose, never the donor's status.
    assert "donation" in text and "Donor status" not in text and "qualified" not in text
    # The room manager may move the booking to the other free room: it is offered.
    assert "Room B" in text
    # Nor do the other pages he can open name the donor.
    process_pk = booking.processes.get().pk
    for url in [
        *app_pages(),
        reverse("booking:process_detail", args=[process_pk]),
        task_url(booking, "staff_review", "detail"),
        task_url(booking, "room_review", "detail"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        text = page_text(response)
        assert "Alice Wang" not in text and ALICE_PHONE not in text, url
        assert "qualified" not in text, url
    # He cannot take the donation review.
    assert client.post(task_url(booking, "staff_review", "assign")).status_code == 403


def test_a_reviewer_approves_from_the_task_form(people, booking, client):
    client.force_login(people.sam)
    client.post(task_url(booking, "staff_review", "assign"))
    execute = task_url(booking, "staff_review", "execute")
    response = client.post(execute, {"decision": "approved", "comment": "fine"})
    assert response.status_code == 302, page_text(response)
    booking.refresh_from_db()
    assert (booking.status, booking.staff_review, booking.staff_comment) == ("pending", "approved", "fine")
    event = AuditEvent.objects.get(action="booking.staff_review", object_id=str(booking.pk))
    assert (event.actor, event.data["decision"], event.reason) == (people.sam, "approved", "fine")
    assert sorted(t.flow_task.name for t in open_tasks(booking)) == ["join", "room_review"]
    # The done task cannot be done again, from the page or the API.
    assert client.post(execute, {"decision": "rejected", "reason": "again"}).status_code == 403
    with pytest.raises(TaskDone):
        reviews.complete_review(
            task_id=the_task(booking, "staff_review").pk, user=people.sam, decision="rejected", reason="x"
        )

    # The room manager approves from his page too: the booking is approved, check-in waits.
    client.force_login(people.rita)
    client.post(task_url(booking, "room_review", "assign"))
    response = client.post(task_url(booking, "room_review", "execute"), {"decision": "approved"})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.status, booking.staff_review, booking.room_review) == ("approved", "approved", "approved")
    assert [t.flow_task.name for t in open_tasks(booking)] == ["check_in"]
    assert AuditEvent.objects.filter(action="booking.approved", object_id=str(booking.pk)).count() == 1


def test_the_room_manager_moves_the_booking_from_the_task_form(people, rooms, booking, client):
    client.force_login(people.rita)
    client.post(task_url(booking, "room_review", "assign"))
    response = client.post(task_url(booking, "room_review", "execute"), {"decision": "approved", "room": rooms[1].pk})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.room, booking.room_review) == (rooms[1], "approved")
    event = AuditEvent.objects.get(action="booking.room_review", object_id=str(booking.pk))
    assert event.data["moved_from_room"] == rooms[0].pk


def test_rejecting_from_the_task_form_needs_the_reason_the_donor_is_told(people, booking, client):
    client.force_login(people.sam)
    client.post(task_url(booking, "staff_review", "assign"))
    execute = task_url(booking, "staff_review", "execute")
    response = client.post(execute, {"decision": "rejected", "reason": "", "comment": "a note is not a reason"})
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    booking.refresh_from_db()
    assert (booking.status, booking.staff_review) == ("pending", "pending")
    [task] = [t for t in open_tasks(booking) if t.flow_task == BookingFlow.staff_review]
    assert (task.status, task.owner) == (STATUS.ASSIGNED, people.sam)
    assert not AuditEvent.objects.filter(action="booking.staff_review").exists()

    note = f"deferred: recent illness, Alice Wang {ALICE_PHONE}"
    response = client.post(
        execute, {"decision": "rejected", "reason": "Please book again in a month.", "comment": note}
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.status, booking.staff_review, booking.room_review) == ("rejected", "rejected", "cancelled")
    assert (booking.staff_comment, booking.reject_reason) == (note, "Please book again in a month.")
    assert_finished(booking)
    assert AuditEvent.objects.filter(action="booking.rejected", object_id=str(booking.pk)).count() == 1
    # The donor is told the reason written for him, never the note.
    told = Notification.objects.get(recipient=people.alice, kind="booking.rejected")
    assert "Please book again in a month." in told.body and "illness" not in told.body
    assert "illness" not in str(told.data)

    # Nothing of the note, nor the donor's identity, reaches the room manager's pages of this
    # booking (nor a user id), and a donor sees none of them.
    process_pk = booking.processes.get().pk
    pages = [
        reverse("booking:process_detail", args=[process_pk]),
        task_url(booking, "staff_review", "detail"),
        task_url(booking, "room_review", "detail"),
        *[
            reverse(f"booking:{t.flow_task.name}:index", args=[process_pk, t.pk]) + "detail/"
            for t in Task.objects.filter(process_id=process_pk).exclude(flow_task_type__in=["START", "END"])
            if hasattr(BookingFlow, t.flow_task.name)
        ],
    ]
    client.force_login(people.rita)
    for url in pages:
        response = client.get(url)
        assert response.status_code in (200, 403, 404), (url, response.status_code)
        text = page_text(response)
        assert "illness" not in text and ALICE_PHONE not in text and "Alice Wang" not in text, url
    client.force_login(people.alice)
    for url in pages:
        assert client.get(url).status_code in (302, 403, 404), url


def test_no_user_id_is_on_the_door_steps_task_pages(people, rooms, client, settings):
    """The check-in and check-out tasks keep no user id: a room manager opens their pages."""
    from tests.doors.helpers import approved_booking, current_slot, open_all_day
    from workflows import doors

    settings.DOOR_LOCK_ADAPTER = "tests.doubles.FakeLock"
    settings.DOOR_REPEAT_SECONDS = 0
    relay = RelayModule.objects.create(host="127.0.0.1", port=1502, unit=1)
    room = f.room("Room D", coil=4, relay=relay)
    open_all_day(room)
    booking = approved_booking(people, room, current_slot())
    doors.scan(user=people.alice, door=room.door_token)
    doors.scan(user=people.alice, door=room.door_token)
    process = booking.processes.get()
    client.force_login(people.rita)
    for name in ("check_in", "check_out"):
        task = Task.objects.get(process=process, flow_task=getattr(BookingFlow, name))
        assert "actor" not in (task.data or {})
        text = page_text(client.get(task_url(booking, name, "detail")))
        assert f"'actor': {people.alice.pk}" not in text and f'"actor": {people.alice.pk}' not in text


def test_opening_the_task_page_does_not_block_the_api(people, booking, client, client_for):
    """A reviewer who took the task and opened its form may still decide through the API;
    another reviewer cannot take it over."""
    client.force_login(people.sam)
    client.post(task_url(booking, "staff_review", "assign"))
    assert client.get(task_url(booking, "staff_review", "execute")).status_code == 200
    tid = the_task(booking, "staff_review").pk
    assert the_task(booking, "staff_review").status == STATUS.ASSIGNED
    stella = f.staff_user("stella", role="staff")
    response = client_for(stella).post(f"/api/tasks/{tid}/approve/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "task_taken"
    response = client_for(people.sam).post(f"/api/tasks/{tid}/approve/", {}, format="json")
    assert response.status_code == 200, response.content
    booking.refresh_from_db()
    assert booking.staff_review == "approved"


def test_the_flow_chart_shows_every_outcome_and_timeout(people, booking, client):
    """The diagram staff see is the process as it runs: the expiry (not reviewed, not paid),
    the no-show and the rejection are nodes of their own, the timeouts timers on their tasks."""
    client.force_login(people.sam)
    for url in (reverse("booking:chart"), reverse("booking:process_chart", args=[booking.processes.get().pk])):
        response = client.get(url)
        assert response.status_code == 200, url
        chart = response.content.decode()
        for node in ("expired_unpaid", "expired_unreviewed", "no_show", "rejected", "window_closed"):
            assert f"id_node_{node}" in chart or node in chart, (url, node)
        for timer in ("staff_review__timeout", "room_review__timeout", "check_in__timeout"):
            assert timer in chart, (url, timer)
