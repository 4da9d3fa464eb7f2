"""POST /api/bookings/ and the donor journey: every donor status by purpose (API.md, "Donor journey
and waitlist")."""

from __future__ import annotations

import pytest

from clinic.accounts.models import DonorProfile
from clinic.bookings.models import Booking
from tests import factories as f

STATUSES = ["applicant", "qualified", "retest_due", "suspended", "retired"]
PURPOSES = ["screening", "donation", "retest", "self_preservation"]
ALLOWED = {"applicant": "screening", "qualified": "donation", "retest_due": "retest"}


@pytest.fixture
def room(db):
    room = f.room("Room A", coil=0)
    f.weekly_opening(room)
    return room


def book(client, room, **extra):
    start = f.at(f.tomorrow(), "09:00")
    return client.post("/api/bookings/", {"room": room.pk, "start": start.isoformat(), **extra}, format="json")


def set_status(user, status):
    DonorProfile.objects.filter(user=user).update(donor_status=status)


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("purpose", PURPOSES)
def test_each_status_books_its_own_purpose_only(people, room, client_for, status, purpose):
    set_status(people.alice, status)
    response = book(client_for(people.alice), room, purpose=purpose)
    if ALLOWED.get(status) == purpose:
        assert response.status_code == 201, response.content
        assert response.json()["purpose"] == purpose
        assert Booking.objects.get().purpose == purpose
    else:
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "purpose_not_allowed"
        assert response.json()["detail"]
        assert not Booking.objects.exists()


@pytest.mark.parametrize("status", STATUSES)
def test_without_a_purpose_the_status_chooses_it(people, room, client_for, status):
    set_status(people.alice, status)
    response = book(client_for(people.alice), room)
    if status in ALLOWED:
        assert response.status_code == 201, response.content
        assert Booking.objects.get().purpose == ALLOWED[status]
    else:
        assert response.status_code == 409
        assert response.json()["code"] == "purpose_not_allowed"
        assert not Booking.objects.exists()


@pytest.mark.parametrize("purpose", PURPOSES)
def test_a_self_preservation_client_books_self_preservation_only(people, room, client_for, purpose):
    response = book(client_for(people.carl), room, purpose=purpose)
    if purpose == "self_preservation":
        assert response.status_code == 201
        assert Booking.objects.get().payment == "pending"
    else:
        assert response.status_code == 409
        assert response.json()["code"] == "purpose_not_allowed"
        assert not Booking.objects.exists()


def test_staff_on_a_donors_behalf_follow_his_status(people, room, client_for):
    set_status(people.alice, "applicant")
    staff = client_for(people.sam)
    code = people.alice.donor_profile.donor_code
    assert book(staff, room, donor=code, purpose="donation").json()["code"] == "purpose_not_allowed"
    response = book(staff, room, donor=code)
    assert response.status_code == 201
    body = response.json()
    assert body["purpose"] == "screening" and body["donor_status"] == "applicant"


def test_an_unknown_purpose_is_a_400(people, room, client_for):
    response = book(client_for(people.alice), room, purpose="holiday")
    assert response.status_code == 400
    assert "purpose" in response.json()["errors"]
    assert not Booking.objects.exists()


def test_the_abstinence_interval_counts_a_screening_visit(people, room, client_for, settings):
    settings.MIN_DAYS_BETWEEN_DONATIONS = 3
    day = f.tomorrow()
    f.booking(people.alice, room, f.at(day, "08:00"), status="completed", purpose="screening")
    response = client_for(people.alice).post(
        "/api/bookings/", {"room": room.pk, "start": f.at(day, "10:00").isoformat()}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "too_soon_after_last_donation"


def test_room_managers_see_the_purpose_never_the_donor_status(people, room, client_for):
    booking = f.booking(people.alice, room, f.at(f.tomorrow(), "09:00"), purpose="donation")
    seen = client_for(people.rita).get(f"/api/bookings/{booking.pk}/").json()
    assert seen["purpose"] == "donation" and "donor_status" not in seen
    assert client_for(people.sam).get(f"/api/bookings/{booking.pk}/").json()["donor_status"] == "qualified"


def test_me_says_the_status_and_what_it_allows(people, client_for):
    set_status(people.alice, "retest_due")
    me = client_for(people.alice).get("/api/me/").json()
    assert (me["donor_status"], me["purposes"]) == ("retest_due", ["retest"])
    me = client_for(people.carl).get("/api/me/").json()
    assert (me["donor_status"], me["purposes"]) == (None, ["self_preservation"])
    assert "donor_status" not in client_for(people.sam).get("/api/me/").json()


def test_a_new_donor_starts_as_an_applicant_and_books_screening(db, room, client_for):
    f.restore_roles()
    response = client_for(None).post(
        "/api/auth/register/",
        {"username": "newbie", "password": f.PASSWORD, "phone": "13800000099", "role": "donor"},
        format="json",
    )
    assert response.status_code == 201, response.content
    profile = DonorProfile.objects.get(user__username="newbie")
    assert profile.donor_status == "applicant"
    donor = profile.user
    assert book(client_for(donor), room).json()["purpose"] == "screening"


def test_a_new_self_preservation_client_has_no_status(db, client_for):
    f.restore_roles()
    response = client_for(None).post(
        "/api/auth/register/",
        {"username": "keeper", "password": f.PASSWORD, "phone": "13800000098", "role": "self_preservation"},
        format="json",
    )
    assert response.status_code == 201
    assert DonorProfile.objects.get(user__username="keeper").donor_status is None
