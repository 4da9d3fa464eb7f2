"""IDOR probes: guessing ids of other people's bookings, tasks, notifications, questions,
payment orders and of openings gives 404 or 403 with an error body, never data, and changes
nothing."""

from __future__ import annotations

import pytest
from viewflow.workflow.models import Task

from clinic.bookings.models import Booking
from clinic.notifications.models import Notification
from clinic.outreach.models import Consultation
from clinic.payments.models import PaymentOrder
from clinic.rooms.models import Opening
from tests.security import world as w
from tests.security.helpers import found, text_of

ERROR_KEYS = {"detail", "code", "errors"}


@pytest.fixture
def world(people):
    return w.build(people)


def around(ids) -> list[int]:
    """The known ids and their neighbours: what someone counting up would try."""
    ids = list(ids)
    return sorted({n for pk in ids for n in range(pk - 2, pk + 3) if n > 0} | {0, 2**31, 2**63 - 1})


def snapshot() -> dict:
    return {
        "bookings": sorted(Booking.objects.values_list("pk", "status", "staff_review", "room_review", "start")),
        "tasks": sorted(Task.objects.values_list("pk", "status", "owner_id")),
        "notifications": sorted(Notification.objects.values_list("pk", "read_at")),
        "consultations": sorted(Consultation.objects.values_list("pk", "answer", "answered_at")),
        "payments": sorted(PaymentOrder.objects.values_list("pk", "status", "paid_at")),
        "openings": sorted(Opening.objects.values_list("pk", "start_time", "end_time", "slot_minutes", "weekdays")),
    }


def assert_refused(response, where: str, secrets: dict[str, str]) -> None:
    assert response.status_code in (403, 404), f"{where}: {response.status_code} {response.content[:300]!r}"
    body = response.json()
    assert set(body) <= ERROR_KEYS, f"{where}: {body}"
    for what, value in secrets.items():
        assert not found(value, text_of(response)), f"{where}: {what} in {body}"


def probe(client, method: str, urls: list[str], secrets: dict[str, str], body=None) -> None:
    for url in urls:
        response = getattr(client, method)(url, body, format="json")
        assert_refused(response, f"{method.upper()} {url}", secrets)


def all_client_secrets(world, but: str | None = None) -> dict[str, str]:
    secrets = {}
    for name in (*w.CLIENTS, "dora"):
        if name != but:
            secrets |= {f"{name}.{k}": v for k, v in world.secrets_of(name).items()}
    return secrets


@pytest.mark.parametrize("persona", ["bob", "carl", "adam"])
def test_guessing_booking_ids(world, client_for, persona):
    """bob, carl and adam may not read, cancel, reschedule or close anyone else's booking."""
    client = client_for(world.user(persona))
    own = Booking.objects.filter(donor=world.user(persona)).values_list("pk", flat=True)
    ids = [pk for pk in around(Booking.objects.values_list("pk", flat=True)) if pk not in own]
    secrets = all_client_secrets(world, but=persona)
    before = snapshot()
    probe(client, "get", [f"/api/bookings/{pk}/" for pk in ids], secrets)
    probe(client, "post", [f"/api/bookings/{pk}/cancel/" for pk in ids], secrets)
    probe(client, "post", [f"/api/bookings/{pk}/close/" for pk in ids], secrets)
    room = world.rooms[1].pk
    probe(client, "post", [f"/api/bookings/{pk}/reschedule/" for pk in ids], secrets, {"room": room, "start": "x"})
    assert snapshot() == before
    # Filters do not widen the list either.
    for query in (f"?room={world.rooms[0].pk}", "?status=pending", "?status=approved", "?page_size=200"):
        results = client.get(f"/api/bookings/{query}").json()["results"]
        assert {r["id"] for r in results} <= set(own), query


@pytest.mark.parametrize("persona", ["alice", "bob", "carl", "adam", "rita", "sam"])
def test_guessing_task_ids(world, client_for, persona):
    """Only the permitted reviewer completes a task; the rest get 403/404 and the task stays open."""
    client = client_for(world.user(persona))
    allowed = {"sam": {world.tasks["alice_staff"], world.tasks["carl_staff"]}, "rita": {world.tasks["carl_room"]}}
    ids = [pk for pk in around(Task.objects.values_list("pk", flat=True)) if pk not in allowed.get(persona, set())]
    secrets = all_client_secrets(world)
    before = snapshot()
    for pk in ids:
        for action, body in (("approve", {}), ("reject", {"reason": "guess"})):
            response = client.post(f"/api/tasks/{pk}/{action}/", body, format="json")
            # A task that exists but is done answers 409 to a reviewer allowed to do its kind.
            if persona in allowed and response.status_code == 409:
                assert set(response.json()) <= ERROR_KEYS
                continue
            assert_refused(response, f"{persona} {action} task {pk}", secrets)
    assert snapshot() == before


@pytest.mark.parametrize("persona", ["alice", "bob", "carl", "sam", "rita", "adam"])
def test_guessing_notification_ids(world, client_for, persona):
    client = client_for(world.user(persona))
    mine = set(Notification.objects.filter(recipient=world.user(persona)).values_list("pk", flat=True))
    ids = [pk for pk in around(Notification.objects.values_list("pk", flat=True)) if pk not in mine]
    before = snapshot()
    probe(client, "post", [f"/api/notifications/{pk}/read/" for pk in ids], all_client_secrets(world, but=persona))
    assert snapshot() == before
    listed = client.get("/api/notifications/?page_size=200&after=0").json()["results"]
    assert {n["id"] for n in listed} == mine


@pytest.mark.parametrize("persona", ["alice", "bob", "carl", "rita", "adam"])
def test_guessing_consultation_ids(world, client_for, persona):
    client = client_for(world.user(persona))
    before = snapshot()
    ids = around(Consultation.objects.values_list("pk", flat=True))
    probe(client, "post", [f"/api/consultations/{pk}/answer/" for pk in ids], {}, {"answer": "guess"})
    assert snapshot() == before
    listed = client.get("/api/consultations/?page_size=200").json()["results"]
    own = set(Consultation.objects.filter(asker=world.user(persona)).values_list("pk", flat=True))
    assert {c["id"] for c in listed} == own
    assert all("contact" not in c and "asker" not in c for c in listed)


@pytest.mark.parametrize("persona", ["alice", "bob", "carl", "rita", "adam"])
def test_guessing_payment_ids(world, client_for, persona):
    client = client_for(world.user(persona))
    own = set(PaymentOrder.objects.filter(payer=world.user(persona)).values_list("pk", flat=True))
    ids = [pk for pk in around(PaymentOrder.objects.values_list("pk", flat=True)) if pk not in own]
    secrets = all_client_secrets(world, but=persona)
    before = snapshot()
    probe(client, "get", [f"/api/payments/{pk}/" for pk in ids], secrets)
    probe(client, "get", [f"/api/payments/{pk}/qr/" for pk in ids], secrets)
    probe(client, "post", [f"/api/payments/{pk}/confirm/" for pk in ids + sorted(own)], secrets)
    assert snapshot() == before
    references = PaymentOrder.objects.exclude(pk__in=own).values_list("reference", flat=True)
    for reference in references:
        listed = client.get(f"/api/payments/?reference={reference}").json()["results"]
        assert listed == [], reference
    carl_booking = world.bookings["carl"].pk
    listed = client.get(f"/api/payments/?booking={carl_booking}").json()["results"]
    assert {o["id"] for o in listed} <= own


@pytest.mark.parametrize("persona", ["alice", "bob", "carl", "rita", "adam"])
def test_openings_and_rooms_are_changed_by_room_managers_of_the_site_only(world, client_for, persona):
    """Opening hours, closures and rooms belong to staff (manage_rooms): everyone else's
    PATCH/DELETE/POST by id is refused and nothing changes."""
    client = client_for(world.user(persona))
    before = snapshot()
    ids = around(Opening.objects.values_list("pk", flat=True))
    probe(client, "patch", [f"/api/openings/{pk}/" for pk in ids], {}, {"slot_minutes": 60})
    probe(client, "delete", [f"/api/openings/{pk}/" for pk in ids], {})
    rooms = around(room.pk for room in world.rooms)
    probe(client, "patch", [f"/api/rooms/{pk}/" for pk in rooms], {}, {"name": "mine now"})
    probe(client, "post", [f"/api/rooms/{pk}/door-token/rotate/" for pk in rooms], {})
    probe(client, "post", [f"/api/rooms/{pk}/open/" for pk in rooms], {}, {"reason": "guess"})
    probe(client, "get", [f"/api/rooms/{pk}/door-qr/" for pk in rooms], {})
    assert snapshot() == before
    tokens = [room.door_token for room in world.rooms]
    for room in client.get("/api/rooms/").json():
        assert "door_token" not in room and "lock" not in room and "door_url" not in room
        assert room.get("door_token") not in tokens


def test_workflow_pages_of_other_peoples_processes_are_refused_to_clients(world, client):
    from tests.security.world import open_task_page

    client.force_login(world.people.bob)
    for task in (world.tasks["alice_staff"], world.tasks["carl_room"]):
        for suffix in ("", "detail/", "assign/", "execute/"):
            response = client.get(open_task_page(task) + suffix)
            assert response.status_code in (302, 403, 404), (task, suffix, response.status_code)
            body = text_of(response)
            for what, value in all_client_secrets(world, but="bob").items():
                assert not found(value, body), (what, task, suffix)
