"""Door tokens: forged ones open nothing, and after a rotation the old printed QR code is dead
(POST /api/scan/ → 403 bad_door, GET /d/<old> → the 404 page) while the new one works."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from clinic.rooms.models import Room
from tests import factories as f
from tests.security import world as w
from workflows import reviews


@pytest.fixture
def lock(settings):
    from workflows import doors

    settings.DOOR_LOCK_ADAPTER = "tests.doubles.FakeLock"
    return doors.lock_adapter()


@pytest.fixture
def world(people, lock):
    built = w.build(people)
    # alice's booking is approved and its slot is running now: her scan at Room A unlocks it.
    start = built.current_slot_of_room_a()
    Booking.objects.filter(pk=built.bookings["alice"].pk).update(start=start, end=start + timedelta(minutes=5))
    reviews.complete_review(task_id=built.tasks["alice_staff"], user=people.sam, decision="approved")
    assert Booking.objects.get(pk=built.bookings["alice"].pk).status == "approved"
    return built


def scan(client, door):
    return client.post("/api/scan/", {"door": door}, format="json")


def forgeries(real: str) -> list[str]:
    return [
        secrets.token_urlsafe(24),
        secrets.token_urlsafe(16),
        real[:-1],
        real + "A",
        real[:-1] + ("A" if real[-1] != "A" else "B"),
        real.upper() if real.upper() != real else real.lower(),
        real.swapcase(),
        f" {real}",
        f"{real} ",
        "lobby",
        "%",
        "_",
        "' OR '1'='1",
        "../" + real,
        real.replace("-", "_") if "-" in real else real + "-",
        "Ｒ" * 30,
        "\u200b" + real,
    ]


def test_forged_tokens_are_bad_doors_and_open_nothing(world, client_for, lock):
    real = world.rooms[0].door_token
    alice = client_for(world.people.alice)
    for forged in forgeries(real):
        if forged.strip() == real:
            continue  # DRF trims surrounding whitespace: the real token, checked below
        response = scan(alice, forged)
        assert response.status_code == 403, (forged, response.status_code, response.content)
        assert response.json()["code"] == "bad_door", forged
    assert lock.unlocked == []
    assert Booking.objects.get(pk=world.bookings["alice"].pk).status == "approved"
    refused = AuditEvent.objects.filter(action="door.scan", actor=world.people.alice, reason="bad_door").count()
    assert refused >= len(forgeries(real)) - 2


@pytest.mark.parametrize("door", ["", "x" * 65, None, True, ["a"], {"door": "a"}])
def test_malformed_door_values_are_400(world, client_for, lock, door):
    response = client_for(world.people.alice).post("/api/scan/", {"door": door}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert lock.unlocked == []


def test_forged_tokens_get_the_invalid_door_page(world, client):
    real = world.rooms[0].door_token
    for forged in [secrets.token_urlsafe(24), real[:-1], real + "A", real.swapcase(), "x" * 200]:
        response = client.get(f"/d/{forged}")
        assert response.status_code == 404, forged
        assert "text/html" in response["Content-Type"]
        assert "Room A" not in response.content.decode()
    # An inactive room's code opens no page either.
    Room.objects.filter(pk=world.rooms[1].pk).update(active=False)
    assert client.get(f"/d/{world.rooms[1].door_token}").status_code == 404


def test_an_old_token_is_dead_after_rotation_and_the_new_one_works(world, client_for, client, lock):
    room = world.rooms[0]
    old = room.door_token
    assert client.get(f"/d/{old}").status_code == 200
    response = client_for(world.people.sam).post(f"/api/rooms/{room.pk}/door-token/rotate/")
    assert response.status_code == 200
    new = response.json()["door_token"]
    assert new != old and len(new) >= 22 and new != "lobby"
    assert response.json()["door_url"].endswith(f"/d/{new}")
    # Replaying the old printed code: refused at the API, the 404 page in the browser.
    alice = client_for(world.people.alice)
    replay = scan(alice, old)
    assert replay.status_code == 403 and replay.json()["code"] == "bad_door"
    page = client.get(f"/d/{old}")
    assert page.status_code == 404 and "Room A" not in page.content.decode()
    assert lock.unlocked == []
    assert Booking.objects.get(pk=world.bookings["alice"].pk).status == "approved"
    # The new code opens the door for the booked donor.
    assert client.get(f"/d/{new}").status_code == 200
    opened = scan(alice, new)
    assert opened.status_code == 200, opened.content
    assert opened.json()["action"] == "unlocked"
    assert [t.coil for t in lock.unlocked] == [room.coil]
    # ...and the old one still does not finish the session either.
    assert scan(alice, old).json()["code"] == "bad_door"
    assert Booking.objects.get(pk=world.bookings["alice"].pk).status == "in_progress"


def test_rotating_twice_kills_both_old_tokens(world, client_for):
    room = world.rooms[0]
    sam = client_for(world.people.sam)
    first = room.door_token
    second = sam.post(f"/api/rooms/{room.pk}/door-token/rotate/").json()["door_token"]
    third = sam.post(f"/api/rooms/{room.pk}/door-token/rotate/").json()["door_token"]
    alice = client_for(world.people.alice)
    for dead in (first, second):
        assert scan(alice, dead).json()["code"] == "bad_door"
    assert scan(alice, third).status_code == 200


def test_door_tokens_are_long_random_and_distinct(db):
    tokens = [f.room(f"Room {n}", coil=n % 8).door_token for n in range(40)]
    assert len(set(tokens)) == len(tokens)
    assert all(len(t) >= 22 and t != "lobby" for t in tokens)
    assert all(set(t) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") for t in tokens)


def test_a_room_token_from_another_room_opens_only_that_room(world, client_for, lock):
    """alice's booking is for Room A: Room B's genuine code is no_booking, never an unlock."""
    response = scan(client_for(world.people.alice), world.rooms[1].door_token)
    assert response.status_code == 403
    assert response.json()["code"] == "no_booking"
    assert lock.unlocked == []
