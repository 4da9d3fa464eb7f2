"""The whole story through the HTTP API, against the real relay simulator over TCP: a donor
registers, logs in, finds a slot starting now, books it; staff and the room manager approve it
from their task lists; the first scan pulses the relay, the second one completes the booking,
and the audit trail and the notifications tell it all."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from clinic.audit.models import AuditEvent
from clinic.notifications.models import Notification
from tests import factories as f

from .helpers import SLOT_MINUTES

PULSE_MS = 300
COIL = 4


def login(anon, username: str, password: str) -> str:
    response = anon.post("/api/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def as_user(client_factory, token: str):
    client = client_factory()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def first_slot_starting_soon(client, room_id: int) -> dict:
    """The first free slot of the room that starts at least a few seconds from now (today or tomorrow)."""
    today = timezone.localdate()
    soon = timezone.now() + timedelta(seconds=5)
    for day in (today, today + timedelta(days=1)):
        response = client.get(f"/api/slots/?date={day.isoformat()}")
        assert response.status_code == 200, response.content
        for slot in response.json():
            if (
                slot["available"]
                and datetime.fromisoformat(slot["start"]) > soon
                and room_id in [r["id"] for r in slot["free_rooms"]]
            ):
                return slot
    raise AssertionError("no free slot today or tomorrow")


def my_task(client, booking_id: int, kind: str) -> dict:
    response = client.get("/api/tasks/")
    assert response.status_code == 200, response.content
    tasks = [t for t in response.json() if t["booking"]["id"] == booking_id]
    assert [t["kind"] for t in tasks] == [kind], tasks  # each reviewer sees only his own review
    return tasks[0]


def test_register_book_review_scan_in_and_out(people, sim, anon, client_for):
    # Staff set up a room on the relay board, open all day in 5-minute slots.
    staff = as_user(client_for, login(anon, "sam", f.PASSWORD))
    response = staff.post(
        "/api/rooms/",
        {
            "name": "Room S",
            "lock": {"host": "127.0.0.1", "port": sim.port, "unit": 1, "coil": COIL, "pulse_ms": PULSE_MS},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    room = response.json()
    door = room["door_token"]
    response = staff.post(
        f"/api/rooms/{room['id']}/openings/",
        {"weekdays": list(range(7)), "start_time": "00:00", "end_time": "23:55", "slot_minutes": SLOT_MINUTES},
        format="json",
    )
    assert response.status_code == 201, response.content

    # A new donor registers and logs in.
    response = anon.post(
        "/api/auth/register/",
        {"username": "dora", "password": "a-Long-pass-2026", "phone": "13812345678"},
        format="json",
    )
    assert response.status_code == 201, response.content
    dora_id = response.json()["id"]
    dora = as_user(client_for, login(anon, "dora", "a-Long-pass-2026"))
    assert dora.get("/api/me/").json()["username"] == "dora"

    # She books the next slot: it starts within the early check-in window, so she can enter at once.
    slot = first_slot_starting_soon(anon, room["id"])
    start = datetime.fromisoformat(slot["start"])
    assert start - timezone.now() <= timedelta(minutes=settings.EARLY_CHECK_IN_MINUTES)
    response = dora.post("/api/bookings/", {"room": room["id"], "start": slot["start"]}, format="json")
    assert response.status_code == 201, response.content
    booking = response.json()
    assert booking["status"] == "pending"
    assert datetime.fromisoformat(booking["start"]) == start

    # Too soon: not approved yet, and the relay is untouched.
    response = dora.post("/api/scan/", {"door": door}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "not_approved"

    # Staff and the room manager each approve their review from their task list.
    task = my_task(staff, booking["id"], "staff_review")
    assert staff.post(f"/api/tasks/{task['id']}/approve/", {"comment": "ok"}, format="json").status_code == 200
    rita = as_user(client_for, login(anon, "rita", f.PASSWORD))
    task = my_task(rita, booking["id"], "room_review")
    response = rita.post(f"/api/tasks/{task['id']}/approve/", {"comment": "room ready"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["booking"]["status"] == "approved"
    assert dora.get(f"/api/bookings/{booking['id']}/").json()["status"] == "approved"
    assert sim.history == []

    # First scan: the door opens, the board ends the pulse by itself.
    response = dora.post("/api/scan/", {"door": door}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["action"] == "unlocked"
    assert response.json()["booking"]["status"] == "in_progress"
    assert sim.wait_coil(COIL, False, timeout=PULSE_MS / 1000 + 2)
    history = sim.history
    assert [(e.relay, e.on, e.cause, e.pulse_ms) for e in history] == [
        (COIL, True, "flash", PULSE_MS),
        (COIL, False, "pulse_end", None),
    ]
    assert 0.25 < history[1].monotonic - history[0].monotonic < 0.6

    # A nervous re-tap right after: the door opens again and the session goes on.
    response = dora.post("/api/scan/", {"door": door}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["action"] == "unlocked"
    assert response.json()["booking"]["status"] == "in_progress"
    assert sim.wait_coil(COIL, False, timeout=PULSE_MS / 1000 + 2)
    assert [(e.relay, e.on, e.cause) for e in sim.history[2:]] == [(COIL, True, "flash"), (COIL, False, "pulse_end")]

    # Finish (the door page's confirmed button): completed, and the relay is not driven (free egress).
    response = dora.post("/api/scan/", {"door": door, "action": "finish"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["action"] == "finished"
    assert response.json()["booking"]["status"] == "completed"
    assert len(sim.history) == 4

    # Any scan after that says when the session finished, never "no booking".
    response = dora.post("/api/scan/", {"door": door}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "session_finished"
    assert dora.get(f"/api/bookings/{booking['id']}/").json()["status"] == "completed"

    # The audit trail, in order.
    trail = AuditEvent.objects.filter(object_type="bookings.booking", object_id=str(booking["id"])).order_by("pk")
    assert [(e.action, e.actor_label) for e in trail] == [
        ("booking.created", "dora"),
        ("booking.staff_review", "sam"),
        ("booking.room_review", "rita"),
        ("booking.approved", "system"),
        ("booking.checked_in", "dora"),
        ("booking.completed", "dora"),
    ]
    assert [e.data.get("decision") for e in trail[1:3]] == ["approved", "approved"]
    scans = AuditEvent.objects.filter(action="door.scan", actor_id=dora_id).order_by("pk")
    assert [(e.outcome, e.reason, e.data.get("action")) for e in scans] == [
        ("refused", "not_approved", None),
        ("success", "", "unlocked"),
        ("success", "", "unlocked"),
        ("success", "", "finished"),
        ("refused", "session_finished", None),
    ]
    # Each pulse has its intent, recorded before the scan's transaction, and its outcome.
    intents = AuditEvent.objects.filter(action="door.unlock_intent", actor_id=dora_id).order_by("pk")
    assert [e.data["booking"] for e in intents] == [booking["id"], booking["id"]]
    assert [(e.data.get("intent"), e.data.get("relay")) for e in scans if e.data.get("action") == "unlocked"] == [
        (intent.pk, "pulsed") for intent in intents
    ]
    assert {e.object_id for e in scans} == {str(room["id"])}
    assert AuditEvent.objects.filter(action="account.registered", actor_id=dora_id).count() == 1
    assert AuditEvent.objects.filter(action="auth.login", actor_id=dora_id, outcome="success").count() == 1

    # Notifications recorded along the way: the reviewers when it was requested, the donor when
    # it was approved and completed (other steps may notify too); nobody else's business.
    notes = Notification.objects.filter(booking_id=booking["id"]).select_related("recipient")
    got = {(n.recipient.username, n.kind) for n in notes}
    assert {
        ("sam", "booking.requested"),
        ("rita", "room.requested"),
        ("dora", "booking.approved"),
        ("dora", "booking.completed"),
    } <= got, sorted(got)
    assert {username for username, _ in got} <= {"dora", "sam", "rita"}, sorted(got)
    # Reviewers' texts carry the pseudonymous code, never the donor's name.
    dora_code = dora.get("/api/me/").json()["donor_code"]
    for note in notes.exclude(recipient__username="dora"):
        assert note.data["code"] == dora_code and "dora" not in f"{note.title} {note.body}".lower()
