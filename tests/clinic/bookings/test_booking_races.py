"""No double booking, ever: real threads booking at the same instant on a real database.

PostgreSQL (exclusion constraint, advisory lock for the arrival gap) and a SQLite file
(IMMEDIATE transactions serialise every booking transaction). Transactional tests: each
thread has its own connection and sees what the others committed."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIClient

from clinic.accounts.models import AccessToken as Token
from clinic.bookings.models import ACTIVE_STATUSES, Booking
from clinic.bookings.services import ArrivalGap, SlotTaken
from tests import factories as f
from workflows import bookings

THREADS = 50


@pytest.fixture
def committed(transactional_db, monkeypatch):
    """What a transactional test starts from: an earlier one may have flushed every table, so
    content types, permissions and the roles are put back; notification deliveries stay off
    the shared broker (on_commit callbacks really run here)."""
    from clinic.notifications import services as notifications

    f.restore_roles()
    monkeypatch.setattr(notifications, "enqueue", lambda ids, rooms=None: None)


def race(calls):
    """Run the calls at the same instant, one thread each; return each outcome: the value, or
    the exception raised. Each thread closes its own database connection."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=30)
            outcomes[i] = call()
        except Exception as exc:
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racing booking hung"
    return outcomes


def kinds(outcomes) -> Counter:
    return Counter("ok" if isinstance(o, Booking) else type(o).__name__ for o in outcomes)


def donors(n: int, prefix: str = "racer"):
    return [f.client_user(f"{prefix}{i}", phone=f"138{i:08d}") for i in range(n)]


def booker(donor, room, start):
    return lambda: bookings.request_booking(actor=donor, donor=donor, room_id=room.pk, start=start)


def active():
    return Booking.objects.filter(status__in=ACTIVE_STATUSES)


pytestmark = [pytest.mark.db_sensitive, pytest.mark.django_db(transaction=True)]


def test_fifty_donors_racing_for_one_room_and_slot_get_exactly_one_booking(committed, settings):
    settings.ARRIVAL_GAP_MINUTES = 0
    room = f.room("Room A")
    f.weekly_opening(room)
    start = f.at(f.tomorrow(), "09:00")
    people = donors(THREADS)

    outcomes = race([booker(d, room, start) for d in people])

    assert kinds(outcomes) == {"ok": 1, "SlotTaken": THREADS - 1}, kinds(outcomes)
    assert all(isinstance(o, SlotTaken) and o.code == "slot_taken" for o in outcomes if not isinstance(o, Booking))
    winner = next(o for o in outcomes if isinstance(o, Booking))
    row = Booking.objects.get()
    assert (row.pk, row.room_id, row.start, row.status) == (winner.pk, room.pk, start, "pending")


def test_fifty_donors_booking_fifty_rooms_at_one_start_all_succeed(committed, settings):
    settings.ARRIVAL_GAP_MINUTES = 0
    rooms = [f.room(f"Room {i:02d}", coil=i) for i in range(THREADS)]
    for room in rooms:
        f.weekly_opening(room)
    start = f.at(f.tomorrow(), "10:30")
    people = donors(THREADS)

    outcomes = race([booker(d, room, start) for d, room in zip(people, rooms, strict=True)])

    assert kinds(outcomes) == {"ok": THREADS}, [o for o in outcomes if not isinstance(o, Booking)][:3]
    rows = active().order_by("room__name")
    assert [(b.room_id, b.donor_id, b.start) for b in rows] == [
        (room.pk, d.pk, start) for d, room in zip(people, rooms, strict=True)
    ]


def test_with_an_arrival_gap_no_two_active_bookings_start_within_it(committed, settings):
    """Twelve rooms on grids offset by 5 minutes; threads race for starts 0-55 minutes apart
    in different rooms (and some for the same room and start). Whatever wins, no two active
    bookings start less than the gap apart, and every refusal is a clean domain error."""
    settings.ARRIVAL_GAP_MINUTES = 10
    gap = timedelta(minutes=10)
    rooms = [f.room(f"Gap {k:02d}", coil=k) for k in range(12)]
    for k, room in enumerate(rooms):
        f.weekly_opening(room, start=f"08:{5 * (k % 6):02d}", end=f"18:{5 * (k % 6):02d}", slot_minutes=30)
    people = donors(48, prefix="gapper")
    calls = []
    for rnd in range(2):
        day = f.tomorrow() + timedelta(days=rnd)
        for i in range(24):
            k = i % 12
            start = f.at(day, "09:00") + timedelta(minutes=5 * (k % 6) + 30 * ((i // 12) % 2))
            calls.append(booker(people[rnd * 24 + i], rooms[k], start))

    outcomes = race(calls)

    counts = kinds(outcomes)
    assert set(counts) <= {"ok", "SlotTaken", "ArrivalGap"}, counts
    assert counts["ok"] >= 2  # at least one per day
    assert all(o.code in {"slot_taken", "arrival_gap"} for o in outcomes if isinstance(o, SlotTaken | ArrivalGap))
    starts = sorted(active().values_list("start", flat=True))
    assert len(starts) == counts["ok"]
    assert all(later - earlier >= gap for earlier, later in itertools.pairwise(starts)), starts


def test_the_same_race_through_the_api_is_one_201_and_409s_never_a_500(committed, settings):
    settings.ARRIVAL_GAP_MINUTES = 0
    room = f.room("Room H")
    f.weekly_opening(room)
    start = f.at(f.tomorrow(), "11:00")
    clients = []
    for d in donors(30, prefix="http"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=d).key}")
        clients.append(client)

    def post(client):
        return lambda: client.post("/api/bookings/", {"room": room.pk, "start": start.isoformat()}, format="json")

    responses = race([post(c) for c in clients])

    assert not [r for r in responses if isinstance(r, Exception)], [r for r in responses if isinstance(r, Exception)]
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 29}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"slot_taken"}
    created = next(r.json() for r in responses if r.status_code == 201)
    assert list(Booking.objects.values_list("pk", "room_id", "start")) == [(created["id"], room.pk, start)]


@pytest.mark.django_db(transaction=False)
def test_postgresql_refuses_an_overlapping_insert_that_bypasses_the_service(people):
    if connection.vendor != "postgresql":
        pytest.skip("the exclusion constraint is PostgreSQL's; SQLite relies on IMMEDIATE transactions")
    a, b = f.room("Room A", coil=0), f.room("Room B", coil=1)
    start = f.at(f.tomorrow(), "09:00")
    f.booking(people.alice, a, start, minutes=30)
    with pytest.raises(IntegrityError, match="booking_room_no_overlap"), transaction.atomic():
        f.booking(people.bob, a, start + timedelta(minutes=15), minutes=30)
    # Touching ([start, end) ranges), another room, or an inactive booking are all allowed.
    f.booking(people.bob, a, start + timedelta(minutes=30), minutes=30)
    f.booking(people.carl, b, start, minutes=30)
    f.booking(people.alice, a, start, minutes=30, status="cancelled")
    assert Booking.objects.filter(room=a, status="pending").count() == 2
    assert Booking.objects.count() == 4
