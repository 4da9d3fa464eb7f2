"""GET /api/bookings/: donors see their own; staff see all with the donor's name and phone;
room managers see all with the donor code only. Filters ?status= ?date= ?room=."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils.timezone import localtime

from clinic.bookings.models import Booking
from tests import factories as f

FIELDS = {
    "id",
    "room",
    "room_name",
    "start",
    "end",
    "status",
    "staff_review",
    "room_review",
    "donor_code",
    "purpose",
    "payment",
    "created",
    "checked_in_at",
    "checked_out_at",
}


@pytest.fixture
def world(people):
    """Tomorrow: alice 09:00 (pending) in Room A, bob 09:00 (approved) in Room B, carl 10:00
    in Room A; alice's and bob's past completed bookings; one the day after tomorrow."""
    a, b = f.room("Room A", coil=0), f.room("Room B", coil=1)
    day = f.tomorrow()
    return {
        "day": day,
        "rooms": (a, b),
        "alice_now": f.booking(people.alice, a, f.at(day, "09:00")),
        "bob_now": f.booking(people.bob, b, f.at(day, "09:00"), status="approved", staff_review="approved"),
        "carl_now": f.booking(people.carl, a, f.at(day, "10:00"), purpose="self_preservation", payment="pending"),
        "alice_past": f.booking(people.alice, a, f.at(day - timedelta(days=30), "09:00"), status="completed"),
        "bob_past": f.booking(people.bob, b, f.at(day - timedelta(days=20), "23:30"), status="no_show"),
        "bob_later": f.booking(people.bob, a, f.at(day + timedelta(days=1), "00:00"), status="cancelled"),
    }


def listing(client, **query):
    response = client.get("/api/bookings/", query)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    return body


def ids(body) -> list[int]:
    return [b["id"] for b in body["results"]]


def test_it_shows_donors_their_own_bookings_only(people, world, client_for):
    body = listing(client_for(people.alice))
    assert body["count"] == 2
    assert ids(body) == [world["alice_now"].pk, world["alice_past"].pk]  # newest first
    first = body["results"][0]
    assert set(first) == FIELDS and "donor" not in first
    row = Booking.objects.get(pk=first["id"])
    assert (first["room"], first["start"], first["end"], first["status"], first["donor_code"]) == (
        row.room_id,
        localtime(row.start).isoformat(),
        localtime(row.end).isoformat(),
        "pending",
        people.alice.donor_profile.donor_code,
    )
    text = str(body)
    assert people.bob.donor_profile.donor_code not in text and "Bob" not in text
    assert set(ids(listing(client_for(people.carl)))) == {world["carl_now"].pk}


def test_it_shows_staff_every_booking_with_the_donors_identity(people, world, client_for):
    body = listing(client_for(people.sam))
    assert body["count"] == Booking.objects.count() == 6
    by_id = {b["id"]: b for b in body["results"]}
    assert by_id[world["alice_now"].pk]["donor"] == {"name": "Alice Wang", "phone": "13800000001"}
    assert by_id[world["bob_now"].pk]["donor"] == {"name": "Bob Li", "phone": "13800000002"}
    assert by_id[world["carl_now"].pk]["payment"] == "pending"
    assert all(set(b) == FIELDS | {"donor", "donor_status"} for b in body["results"])


def test_it_shows_room_managers_every_booking_with_donor_codes_only(people, world, client_for):
    body = listing(client_for(people.rita))
    assert body["count"] == 6
    assert all(set(b) == FIELDS for b in body["results"])
    assert {b["donor_code"] for b in body["results"]} == {
        p.donor_profile.donor_code for p in (people.alice, people.bob, people.carl)
    }
    text = str(body)
    for secret in ("Alice Wang", "Bob Li", "Carl Zhao", "13800000001", "13800000002", "13800000003"):
        assert secret not in text


def test_the_pseudonymous_view_follows_the_permission(people, world, client_for):
    Group.objects.get(name="room_manager").permissions.add(
        Permission.objects.get(content_type__app_label="bookings", codename="view_donor_identity")
    )
    assert "donor" in listing(client_for(people.rita))["results"][0]


def test_accounts_without_bookings_or_view_all_see_nothing(people, world, client_for, anon):
    assert listing(client_for(people.adam))["count"] == 0
    response = anon.get("/api/bookings/")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_it_filters_by_status(people, world, client_for):
    client = client_for(people.sam)
    assert ids(listing(client, status="approved")) == [world["bob_now"].pk]
    assert set(ids(listing(client, status="pending"))) == {world["alice_now"].pk, world["carl_now"].pk}
    assert ids(listing(client, status="in_progress")) == []
    # A donor's filter never reaches beyond his own bookings.
    assert ids(listing(client_for(people.alice), status="approved")) == []
    assert ids(listing(client_for(people.alice), status="completed")) == [world["alice_past"].pk]


def test_it_filters_by_local_day_and_room(people, world, client_for):
    client = client_for(people.sam)
    day = world["day"]
    a, b = world["rooms"]
    assert set(ids(listing(client, date=day.isoformat()))) == {
        world["alice_now"].pk,
        world["bob_now"].pk,
        world["carl_now"].pk,
    }
    # Local days: 00:00 and 23:30 (+08:00) belong to their own day, not the UTC one.
    assert ids(listing(client, date=(day + timedelta(days=1)).isoformat())) == [world["bob_later"].pk]
    assert ids(listing(client, date=(day - timedelta(days=20)).isoformat())) == [world["bob_past"].pk]
    assert ids(listing(client, date=day.isoformat(), room=b.pk)) == [world["bob_now"].pk]
    assert ids(listing(client, date=day.isoformat(), room=a.pk, status="pending")) == [
        world["carl_now"].pk,
        world["alice_now"].pk,
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"status": "done"},
        {"status": "PENDING"},
        {"date": "tomorrow"},
        {"date": "2026-02-30"},
        {"date": "9999-12-31"},
        {"date": "0001-01-01"},
        {"room": "A"},
        {"room": "0"},
    ],
)
def test_a_bad_filter_is_a_400(people, world, client_for, query):
    for user in (people.alice, people.sam):
        response = client_for(user).get("/api/bookings/", query)
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["code"] == "invalid" and next(iter(query)) in body["errors"]


def test_it_pages(people, world, client_for):
    body = listing(client_for(people.sam), page_size=2)
    assert body["count"] == 6 and len(body["results"]) == 2 and body["next"] and body["previous"] is None
    second = listing(client_for(people.sam), page_size=2, page=2)
    assert not set(ids(body)) & set(ids(second))
    response = client_for(people.sam).get("/api/bookings/", {"page": 99})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
