"""GET /api/bookings/{id}/: the owner, staff (with the donor's name and phone) and room
managers (donor code only) see a booking; to anyone else it does not exist."""

import pytest
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
def booking(people):
    room = f.room("Room A")
    return f.booking(people.alice, room, f.at(f.tomorrow(), "09:00"), status="approved", staff_review="approved")


def detail(client, pk):
    return client.get(f"/api/bookings/{pk}/")


def test_it_shows_the_owner_his_booking(people, booking, client_for):
    response = detail(client_for(people.alice), booking.pk)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == FIELDS and "donor" not in body
    row = Booking.objects.get(pk=booking.pk)
    assert body == {
        "id": row.pk,
        "room": row.room_id,
        "room_name": "Room A",
        "start": localtime(row.start).isoformat(),
        "end": localtime(row.end).isoformat(),
        "status": "approved",
        "staff_review": "approved",
        "room_review": "pending",
        "donor_code": people.alice.donor_profile.donor_code,
        "purpose": "donation",
        "payment": "not_required",
        "created": body["created"],
        "checked_in_at": None,
        "checked_out_at": None,
    }
    assert body["start"].endswith("+08:00")


def test_staff_see_the_donors_name_and_phone(people, booking, client_for):
    response = detail(client_for(people.sam), booking.pk)
    assert response.status_code == 200
    body = response.json()
    assert body["donor"] == {"name": "Alice Wang", "phone": "13800000001"}
    assert body["donor_code"] == people.alice.donor_profile.donor_code
    assert set(body) == FIELDS | {"donor", "donor_status"}
    assert body["donor_status"] == "qualified"


def test_room_managers_see_the_donor_code_only(people, booking, client_for):
    response = detail(client_for(people.rita), booking.pk)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == FIELDS
    assert body["donor_code"] == people.alice.donor_profile.donor_code
    assert "Alice" not in response.content.decode() and "13800000001" not in response.content.decode()


@pytest.mark.parametrize("persona", ["bob", "carl", "adam"])
def test_to_anyone_else_it_does_not_exist(people, booking, client_for, persona):
    client = client_for(getattr(people, persona))
    mine = detail(client, booking.pk)
    missing = detail(client, 999999)
    assert mine.status_code == missing.status_code == 404
    assert mine.json() == missing.json()  # nothing tells a booking exists
    assert people.alice.donor_profile.donor_code not in mine.content.decode()
    assert Booking.objects.filter(pk=booking.pk, donor=people.alice).exists()


def test_anonymous_visitors_get_a_401(booking, anon):
    response = detail(anon, booking.pk)
    assert response.status_code == 401
    assert set(response.json()) >= {"detail", "code"}


def test_a_non_numeric_id_is_a_json_404(people, booking, client_for):
    response = client_for(people.sam).get("/api/bookings/abc/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_self_preservation_booking_shows_its_payment(people, client_for):
    room = f.room("Room B", coil=1)
    row = f.booking(people.carl, room, f.at(f.tomorrow(), "10:00"), purpose="self_preservation", payment="pending")
    body = detail(client_for(people.carl), row.pk).json()
    assert (body["purpose"], body["payment"], body["status"]) == ("self_preservation", "pending", "pending")
