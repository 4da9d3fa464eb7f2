"""Data that must never leak (DESIGN.md): every persona reads every answer and page it can reach,
and the other clients' names, phones, ID numbers and donor codes are searched for in them.

- donors (and the self-preservation client) never see another client's anything;
- room managers see donor codes, never a name, phone or ID number: bookings, tasks, the room
  board, notifications, the workflow task pages;
- the system admin (no booking permission) and visitors see nobody;
- a door page never says who is inside, whoever opens it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from viewflow.workflow.models import Task

from clinic.bookings.models import Booking
from clinic.payments.models import PaymentOrder
from tests import factories as f
from tests.security import world as w
from tests.security.helpers import found, text_of
from workflows import bookings, reviews
from workflows.models import BookingProcess


@pytest.fixture
def world(people, settings):
    settings.DOOR_LOCK_ADAPTER = "tests.doubles.FakeLock"
    return w.build(people)


def api_urls(world) -> list[str]:
    day = timezone.localdate() + timedelta(days=1)
    urls = [
        "/api/me/",
        "/api/bookings/?page_size=200",
        f"/api/bookings/?date={day.isoformat()}",
        "/api/tasks/",
        "/api/rooms/status/",
        "/api/rooms/",
        f"/api/slots/?date={day.isoformat()}",
        "/api/notifications/?page_size=200",
        "/api/consultations/?page_size=200",
        "/api/payments/?page_size=200",
        "/api/promotions/",
        "/api/door-qr-sheet/",
    ]
    urls += [f"/api/bookings/{b.pk}/" for b in Booking.objects.all()]
    urls += [f"/api/payments/{pk}/" for pk in world.payments.values()]
    urls += [f"/api/rooms/{room.pk}/" for room in world.rooms]
    return urls


def page_urls(world) -> list[str]:
    urls = ["/", "/book/", "/me/bookings/", "/me/payments/", "/staff/", "/rooms/", "/d/lobby"]
    urls += [f"/d/{room.door_token}" for room in world.rooms]
    urls += [f"/pay/{reference}" for reference in PaymentOrder.objects.values_list("reference", flat=True)]
    urls += [reverse(f"booking:{name}") for name in ("index", "inbox", "queue", "archive", "process_list", "task_list")]
    for process in BookingProcess.objects.all():
        urls.append(reverse("booking:process_detail", args=[process.pk]))
    for task in Task.objects.filter(process__in=BookingProcess.objects.all()).exclude(flow_task=None):
        name = task.flow_task.name
        try:
            urls.append(reverse(f"booking:{name}:detail", args=[task.process_id, task.pk]))
        except Exception:  # nodes without a detail page
            continue
    urls += ["/admin/", "/admin/accounts/user/", "/admin/bookings/booking/", "/admin/audit/auditevent/"]
    return urls


def read_everything(world, persona: str, client_for) -> dict[str, str]:
    """Every answer the persona can get from the API (token) and the pages (session)."""
    user = world.user(persona)
    api = client_for(user)
    pages = Client()
    if user is not None:
        pages.force_login(user)
    seen = {}
    for url in api_urls(world):
        response = api.get(url)
        assert response.status_code < 500, (persona, url, response.content[:300])
        seen[url] = text_of(response)
    for url in page_urls(world):
        response = pages.get(url, follow=True)
        assert response.status_code < 500, (persona, url)
        seen[url] = text_of(response)
    return seen


def leaks(seen: dict[str, str], forbidden: dict[str, str]) -> list[str]:
    return [
        f"{what}={value!r} in {url}"
        for url, text in seen.items()
        for what, value in forbidden.items()
        if found(value, text)
    ]


def forbidden_for(world, persona: str) -> dict[str, str]:
    others = [c for c in (*w.CLIENTS, "dora") if c != persona]
    forbidden = {}
    for other in others:
        secrets = world.secrets_of(other) if persona != "rita" else world.identity_of(other)
        forbidden |= {f"{other}.{k}": v for k, v in secrets.items()}
        if persona in (*w.CLIENTS, "anon"):
            forbidden[f"{other}.username"] = other
    return forbidden


@pytest.mark.parametrize("persona", ["alice", "bob", "carl", "rita", "adam", "anon"])
def test_nobody_reads_what_is_not_theirs(world, client_for, persona):
    seen = read_everything(world, persona, client_for)
    assert not leaks(seen, forbidden_for(world, persona))
    if persona in w.CLIENTS:
        # The crawl did read the persona's own data: his own code is there.
        own = world.secrets_of(persona)["donor_code"]
        assert any(found(own, text) for text in seen.values()), f"{persona} never saw his own booking"


def test_room_managers_see_codes_where_staff_see_names(world, client_for):
    """The crawl is sharp: the same pages show staff the names, room managers only the codes."""
    rita = read_everything(world, "rita", client_for)
    sam = read_everything(world, "sam", client_for)
    alice = world.secrets_of("alice")
    assert any(found(alice["donor_code"], text) for text in rita.values())
    # carl's room review is open: his code is in rita's task list, whatever the time of day.
    assert found(world.secrets_of("carl")["donor_code"], rita["/api/tasks/"])
    assert any(found(alice["name"], text) for text in sam.values())
    assert found(alice["phone"], sam[f"/api/bookings/{world.bookings['alice'].pk}/"])
    task_pages = [url for url in rita if "/staff_review/" in url or "/room_review/" in url]
    codes = [world.secrets_of(name)["donor_code"] for name in w.CLIENTS]
    shown = [url for url in task_pages if any(found(code, rita[url]) for code in codes)]
    assert shown, f"no task page showed rita a donor code: {task_pages}"
    assert not leaks({url: rita[url] for url in task_pages}, world.identity_of("alice") | world.identity_of("carl"))


def test_room_manager_answers_and_task_form_name_nobody(world, client_for):
    rita = world.people.rita
    forbidden = world.identity_of("carl") | world.identity_of("alice")
    # The review form itself, once she has taken the task.
    pages = Client()
    pages.force_login(rita)
    task_page = w.open_task_page(world.tasks["carl_room"])
    assert pages.post(task_page + "assign/").status_code == 302
    form = pages.get(task_page + "execute/")
    assert form.status_code == 200
    assert found(world.secrets_of("carl")["donor_code"], text_of(form))
    assert not leaks({"execute": text_of(form)}, forbidden)
    # Approving through the API: the answer shows the booking with its code only.
    response = client_for(rita).post(f"/api/tasks/{world.tasks['carl_room']}/approve/", {}, format="json")
    assert response.status_code in (200, 409), response.content
    assert not leaks({"approve": text_of(response)}, forbidden)
    notifications = client_for(rita).get("/api/notifications/?page_size=200")
    assert not leaks({"notifications": text_of(notifications)}, forbidden)


def test_a_refused_scan_and_the_door_page_name_nobody(world, client_for):
    """bob at the door of the room alice is using: refused, and nothing about alice."""
    alice = world.bookings["alice"]
    start = world.current_slot_of_room_a()
    Booking.objects.filter(pk=alice.pk).update(start=start, end=start + timedelta(minutes=5))
    reviews.complete_review(task_id=world.tasks["alice_staff"], user=world.people.sam, decision="approved")
    door = world.rooms[0].door_token
    assert client_for(world.people.alice).post("/api/scan/", {"door": door}, format="json").status_code == 200
    forbidden = world.secrets_of("alice") | {"username": "alice"}
    for persona in ("bob", "carl", "rita", "sam", "adam"):
        response = client_for(world.user(persona)).post("/api/scan/", {"door": door}, format="json")
        assert response.status_code == 403, (persona, response.content)
        assert not leaks({f"scan by {persona}": text_of(response)}, forbidden)
    for persona in [p for p in w.PERSONAS if p != "alice"]:
        client = Client()
        if world.user(persona) is not None:
            client.force_login(world.user(persona))
        page = client.get(f"/d/{door}")
        assert page.status_code == 200
        assert not leaks({f"door page for {persona}": text_of(page)}, forbidden)


NOTE = "STAFFNOTE7Q hepatitis B positive, call 13912345678"


@pytest.mark.parametrize("persona", ["dora", "rita", "adam", "anon"])
def test_a_reviewer_s_staff_note_reaches_nobody_but_staff(world, people, client_for, persona):
    """Staff reject dora's booking with a reason for her and a staff-only note: the note is in
    no answer, page (task pages included) or notification that she, a room manager, the system
    admin or a visitor can read; she reads the reason."""
    booking = bookings.request_booking(
        actor=people.dora, donor=people.dora, room_id=world.rooms[1].pk, start=f.at(f.tomorrow(), "15:30")
    )
    reviews.complete_review(
        task_id=w.open_task(booking, "staff_review"),
        user=people.sam,
        decision="rejected",
        reason="Please come to the desk before booking again.",
        comment=NOTE,
    )
    seen = read_everything(world, persona, client_for)
    assert not [url for url, text in seen.items() if "STAFFNOTE7Q" in text or "13912345678" in text]
    if persona == "dora":
        assert any("Please come to the desk" in text for text in seen.values())
