"""CSRF on session-authenticated writes: a browser logged in by session cannot be made to write
by another site. Without the CSRF token (or from a foreign Origin) every write is a 403 and
changes nothing; with it, the same request is allowed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from tests import factories as f
from tests.security import world as w

DAY = f.tomorrow()


@pytest.fixture
def world(people, settings):
    settings.DOOR_LOCK_ADAPTER = "tests.doubles.FakeLock"
    built = w.build(people)
    # bob's approved booking runs now in Room A: his scan unlocks it.
    start = built.current_slot_of_room_a()
    bob = built.bookings["bob"]
    Booking.objects.filter(pk=bob.pk).update(room=built.rooms[0], start=start, end=start + timedelta(minutes=5))
    return built


# (persona, method, path, body, status when the CSRF token is given)
API_WRITES = [
    ("dora", "post", "/api/bookings/", {"room": "{room_b}", "start": f.at(DAY, "15:00").isoformat()}, 201),
    ("bob", "post", "/api/scan/", {"door": "{door_token}"}, 200),
    ("sam", "post", "/api/tasks/{staff_task}/approve/", {}, 200),
    ("rita", "post", "/api/tasks/{room_task}/approve/", {}, 200),
    ("sam", "post", "/api/tasks/{staff_task}/reject/", {"reason": "no"}, 200),
    ("alice", "post", "/api/bookings/{alice_booking}/cancel/", {}, 200),
    ("sam", "post", "/api/bookings/{alice_booking}/reschedule/", {"room": "{room_b}", "start": "{later}"}, 200),
    ("alice", "patch", "/api/me/", {"email": "a@example.org"}, 200),
    ("alice", "post", "/api/auth/logout/", None, 204),
    ("alice", "post", "/api/notifications/{alice_notification}/read/", None, 200),
    ("alice", "post", "/api/consultations/", {"question": "Is parking free?"}, 201),
    ("bob", "post", "/api/payments/", {"item": "storage_yearly"}, 201),
    ("sam", "post", "/api/rooms/", {"name": "Room Z"}, 201),
    ("sam", "patch", "/api/rooms/{room}/", {"name": "Room A2"}, 200),
    ("sam", "post", "/api/rooms/{room}/door-token/rotate/", None, 200),
    ("sam", "post", "/api/rooms/{room}/open/", {"reason": "cleaning"}, 200),
    ("sam", "delete", "/api/openings/{opening}/", None, 204),
    ("sam", "post", "/api/closures/", {"start_date": "{far}", "end_date": "{far}", "reason": "holiday"}, 201),
    ("sam", "post", "/api/promotions/", {"title": "T", "body": "B", "audience": ["donor"]}, 201),
    ("sam", "post", "/api/consultations/{alice_question}/answer/", {"answer": "Yes."}, 200),
    ("sam", "post", "/api/payments/{carl_payment}/confirm/", None, 200),
    ("sam", "post", "/api/fee-items/", {"code": "x1", "name": "X", "amount_fen": 100}, 201),
    ("adam", "put", "/api/roles/staff/permissions/", {"permissions": ["bookings.view_all_bookings"]}, 200),
    ("adam", "post", "/api/users/", {"username": "m1", "password": "a-Long-pass-2026", "role": "staff"}, 201),
]


def fill(value, ids):
    if isinstance(value, str) and "{" in value:
        value = value.format(**ids)
        return int(value) if value.isdigit() else value
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


def placeholders(world) -> dict:
    return world.ids() | {"later": f.at(DAY, "16:00").isoformat(), "far": (DAY + timedelta(days=50)).isoformat()}


def browser(user) -> tuple[Client, str]:
    """A browser logged in by session, holding the CSRF cookie a page of ours set."""
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    assert client.get("/").status_code == 200
    return client, client.cookies["csrftoken"].value


def send(client, method, path, body, **headers):
    data = json.dumps(body) if body is not None else ""
    return getattr(client, method)(path, data, content_type="application/json", headers=headers)


def is_csrf_refusal(response) -> bool:
    return response.status_code == 403 and "CSRF" in response.json().get("detail", "")


def state() -> tuple:
    return (
        sorted(Booking.objects.values_list("pk", "status", "room_id", "start")),
        AuditEvent.objects.exclude(action="auth.login").count(),
    )


@pytest.mark.parametrize(
    "persona,method,path,body,status", API_WRITES, ids=[f"{p} {m} {u}" for p, m, u, _, _ in API_WRITES]
)
def test_session_writes_need_the_csrf_token(world, persona, method, path, body, status):
    ids = placeholders(world)
    path, body = fill(path, ids), fill(body, ids)
    client, token = browser(world.user(persona))
    before = state()
    with transaction.atomic():
        refused = send(client, method, path, body)
        assert is_csrf_refusal(refused), (refused.status_code, refused.content[:300])
        assert refused.json()["code"] == "permission_denied"
        foreign = send(client, method, path, body, X_CSRFToken=token, Origin="https://evil.example")
        assert is_csrf_refusal(foreign), (foreign.status_code, foreign.content[:300])
        wrong = send(client, method, path, body, X_CSRFToken="x" * 32)
        assert is_csrf_refusal(wrong), (wrong.status_code, wrong.content[:300])
        assert state() == before
        allowed = send(client, method, path, body, X_CSRFToken=token)
        assert allowed.status_code == status, allowed.content[:300]
        transaction.set_rollback(True)


def test_session_reads_need_no_token(world):
    client, _ = browser(world.people.alice)
    for path in ("/api/me/", "/api/bookings/", "/api/notifications/", "/api/payments/"):
        assert client.get(path).status_code == 200, path


def test_token_clients_need_no_csrf_token(world, client_for):
    """A native app authenticates by token: it cannot be the victim of a forged form post."""
    response = client_for(world.people.alice).patch("/api/me/", {"email": "b@example.org"}, format="json")
    assert response.status_code == 200


# Pages: (persona, path, form data, status with the token)
PAGE_WRITES = [
    ("anon", "/login/", {"username": "alice", "password": w.PASSWORD}, 302),
    ("anon", "/register/", {"username": "newbie", "password": "a-Long-pass-2026", "phone": "13812345678"}, 302),
    ("alice", "/logout/", {}, 302),
    ("alice", "/i18n/setlang/", {"language": "en"}, 302),
    ("sam", "{staff_task_page}assign/", {}, 302),
]


@pytest.mark.parametrize("persona,path,data,status", PAGE_WRITES, ids=[f"{p} {u}" for p, u, _, _ in PAGE_WRITES])
def test_page_forms_need_the_csrf_token(world, persona, path, data, status):
    if "{" in path:
        path = path.format(staff_task_page=w.open_task_page(world.tasks["alice_staff"]))
    data = data | ({"role": "donor"} if path == "/register/" else {})
    client, token = browser(world.user(persona))
    with transaction.atomic():
        refused = client.post(path, data)
        assert refused.status_code == 403, (path, refused.status_code)
        assert client.post(path, data, headers={"Origin": "https://evil.example"}).status_code == 403
        allowed = client.post(path, data | {"csrfmiddlewaretoken": token})
        assert allowed.status_code == status, (path, allowed.status_code, allowed.content[:300])
        transaction.set_rollback(True)


def test_the_review_form_needs_the_csrf_token(world):
    """The Viewflow task form (approve/reject in the browser) is a session write too."""
    from tests.security.world import open_task_page

    page = open_task_page(world.tasks["alice_staff"])
    client, token = browser(world.people.sam)
    assert client.post(page + "assign/", {"csrfmiddlewaretoken": token}).status_code == 302
    form = {"decision": "approved", "comment": ""}
    assert client.post(page + "execute/", form).status_code == 403
    assert Booking.objects.get(pk=world.bookings["alice"].pk).staff_review == "pending"
    response = client.post(page + "execute/", form | {"csrfmiddlewaretoken": token})
    assert response.status_code == 302, response.content[:500]
    assert Booking.objects.get(pk=world.bookings["alice"].pk).staff_review == "approved"
