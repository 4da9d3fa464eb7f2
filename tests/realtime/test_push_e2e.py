"""End to end over real processes: a live uvicorn server, a real Celery worker, a private Redis
(broker and channel layer) and WebSocket clients. A booking reaches the reviewers' sockets, the
approvals reach the donor's, no one else hears anything; Redis going down during a booking costs
nothing but delay, and the sweep delivers everything once Redis is back.

These rely on the booking process's hooks (workflows/: notify on request, review, approval)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import ExitStack

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from clinic.accounts.models import AccessToken as Token
from clinic.celery import app
from clinic.notifications.models import Notification
from tests import factories as f
from tests.realtime.support import Http

pytestmark = [pytest.mark.celery, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

DEADLINE = 30.0


def token(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def open_socket(stack, user, *, origin: bool = False, deadline_s: float = 10.0) -> ClientConnection:
    """A native app's socket (token, no Origin), or a browser-like one with an allowed Origin;
    retried while the server refuses it (its channel layer not back yet)."""
    began = time.monotonic()
    while True:
        try:
            return connect(
                f"{stack.ws}?token={token(user)}",
                origin=stack.base if origin else None,
                open_timeout=5,
            )
        except (InvalidStatus, OSError):
            if time.monotonic() - began > deadline_s:
                raise
            time.sleep(0.2)


def receive_until(ws: ClientConnection, done: Callable[[list[dict]], bool], stack, timeout: float = DEADLINE):
    received: list[dict] = []
    began = time.monotonic()
    while not done(received):
        stack.check_alive()
        left = timeout - (time.monotonic() - began)
        if left <= 0:
            pytest.fail(f"only {[n['kind'] for n in received]} after {timeout:.0f} s\n{stack.logs()}")
        try:
            received.append(json.loads(ws.recv(timeout=min(left, 1.0))))
        except TimeoutError:
            continue
    return received


def quiet(ws: ClientConnection, seconds: float = 1.0) -> list[dict]:
    received = []
    began = time.monotonic()
    while (left := seconds - (time.monotonic() - began)) > 0:
        try:
            received.append(json.loads(ws.recv(timeout=left)))
        except TimeoutError:
            break
    return received


def kinds(received: list[dict]) -> list[str]:
    return [n["kind"] for n in received]


def has(kind: str) -> Callable[[list[dict]], bool]:
    return lambda received: kind in kinds(received)


def approve_open_task(stack, reviewer) -> float:
    http = Http(stack.base, token(reviewer))
    status, tasks, _ = http.get("/api/tasks/")
    assert status == 200 and len(tasks) == 1, tasks
    status, body, took = http.post(f"/api/tasks/{tasks[0]['id']}/approve/")
    assert status == 200, body
    return took


@pytest.fixture
def room(db):
    room = f.room("Room A")
    f.weekly_opening(room)
    return room


def booking_body(room) -> dict:
    return {"room": room.pk, "start": f.at(f.tomorrow(), "09:00").isoformat()}


def test_a_booking_reaches_the_reviewers_and_its_approval_only_the_donor(people, room, stack):
    with ExitStack() as exits:
        sockets = {
            "alice": exits.enter_context(open_socket(stack, people.alice)),
            "bob": exits.enter_context(open_socket(stack, people.bob)),
            "sam": exits.enter_context(open_socket(stack, people.sam, origin=True)),
            "rita": exits.enter_context(open_socket(stack, people.rita)),
        }
        status, booking, _ = Http(stack.base, token(people.alice)).post("/api/bookings/", booking_body(room))
        assert status == 201, booking
        assert kinds(receive_until(sockets["sam"], has("booking.requested"), stack)) == ["booking.requested"]
        [to_rita] = receive_until(sockets["rita"], has("room.requested"), stack)
        assert to_rita["kind"] == "room.requested" and to_rita["booking"] == booking["id"]
        text = json.dumps(to_rita)
        assert people.alice.donor_code in text
        for secret in ("Alice", "Wang", people.alice.phone, "alice"):
            assert secret not in text

        approve_open_task(stack, people.sam)
        approve_open_task(stack, people.rita)
        heard = receive_until(sockets["alice"], has("booking.approved"), stack)
        assert kinds(heard) == ["booking.reviewed", "booking.reviewed", "booking.approved"]
        assert all(n["booking"] == booking["id"] for n in heard)
        # What the socket got is what the list gives after reconnecting (?after=).
        status, listed, _ = Http(stack.base, token(people.alice)).get(f"/api/notifications/?after={heard[0]['id'] - 1}")
        assert list(reversed(listed["results"])) == heard

        # A redelivered task (acks_late, a worker lost) sends nothing a second time.
        done_before = stack.worker.log().count("succeeded in")
        app.send_task("clinic.notifications.tasks.deliver", args=[heard[-1]["id"]])
        app.send_task("clinic.notifications.tasks.deliver", args=[heard[-1]["id"]])
        began = time.monotonic()
        while stack.worker.log().count("succeeded in") < done_before + 2 and time.monotonic() - began < DEADLINE:
            time.sleep(0.1)
        assert stack.worker.log().count("succeeded in") == done_before + 2, stack.logs()
        assert quiet(sockets["alice"]) == []
        assert quiet(sockets["bob"], 0.2) == []
        assert quiet(sockets["sam"], 0.2) == [] and quiet(sockets["rita"], 0.2) == []
        assert not Notification.objects.filter(delivered_at__isnull=True).exists()
        assert "Traceback" not in stack.worker.log(), stack.logs()


def test_redis_down_during_a_booking_delays_the_push_until_the_sweep(people, room, stack):
    with open_socket(stack, people.alice):
        stack.redis.stop()  # the socket's server side loses its channel layer with Redis

    status, booking, took = Http(stack.base, token(people.alice)).post("/api/bookings/", booking_body(room))
    assert status == 201, booking
    assert took < 1.5, f"booking took {took:.2f} s with Redis down"
    assert approve_open_task(stack, people.sam) < 1.5
    assert approve_open_task(stack, people.rita) < 1.5
    rows = Notification.objects.filter(booking_id=booking["id"])
    assert sorted(rows.values_list("recipient__username", "kind")) == [
        ("alice", "booking.approved"),
        ("alice", "booking.reviewed"),
        ("alice", "booking.reviewed"),
        ("rita", "room.requested"),
        ("sam", "booking.requested"),
    ]
    assert not rows.filter(delivered_at__isnull=False).exists()

    stack.redis.start()
    with open_socket(stack, people.alice) as alice, open_socket(stack, people.sam) as sam:
        sockets = {"alice": alice, "sam": sam}
        # The periodic sweep, sent by name as beat sends it, run by the (reconnected) worker.
        app.send_task("workflows.tasks.sweep")
        heard = receive_until(sockets["alice"], has("booking.approved"), stack)
        assert sorted(kinds(heard)) == ["booking.approved", "booking.reviewed", "booking.reviewed"]
        assert kinds(receive_until(sockets["sam"], has("booking.requested"), stack)) == ["booking.requested"]
        assert not rows.filter(delivered_at__isnull=True).exists()
        # Nothing twice: another sweep finds nothing left.
        app.send_task("workflows.tasks.sweep")
        assert quiet(sockets["alice"], 1.5) == [] and quiet(sockets["sam"], 0.2) == []
        assert len({n["id"] for n in heard}) == 3
