"""GET /api/donors/?q= and PATCH /api/donors/{donor_code}/: staff find a donor and move him
along his journey; audited, the donor told (never the staff's note)."""

from __future__ import annotations

import pytest

from clinic.accounts.models import DonorProfile
from clinic.audit.models import AuditEvent
from clinic.notifications.models import Notification
from tests import factories as f


@pytest.fixture
def room(db):
    room = f.room("Room A", coil=0)
    f.weekly_opening(room)
    return room


def code(user) -> str:
    return user.donor_profile.donor_code


@pytest.mark.parametrize(
    ("query", "found"),
    [("Alice", ["alice"]), ("alice wang", ["alice"]), ("13800000002", ["bob"]), ("0000000", ["carl", "bob", "alice"])],
)
def test_staff_find_a_donor_by_name_or_phone(people, client_for, query, found):
    response = client_for(people.sam).get("/api/donors/", {"q": query})
    assert response.status_code == 200
    names = {"Alice Wang": "alice", "Bob Li": "bob", "Carl Zhao": "carl"}
    assert [names[row["name"]] for row in response.json()["results"]] == found


def test_staff_find_a_donor_by_his_code_with_his_history(people, client_for, room):
    f.booking(people.alice, room, f.at(f.tomorrow(), "08:00"), status="completed", purpose="donation")
    f.booking(people.alice, room, f.at(f.tomorrow(), "10:00"), status="completed", purpose="screening")
    f.booking(people.alice, room, f.at(f.tomorrow(), "12:00"), status="cancelled", purpose="donation")
    response = client_for(people.sam).get("/api/donors/", {"q": code(people.alice).lower()})
    (row,) = response.json()["results"]
    assert row == {
        "donor_code": code(people.alice),
        "name": "Alice Wang",
        "phone": "13800000001",
        "role": "donor",
        "donor_status": "qualified",
        "donations": 1,
        "last_donation": f.at(f.tomorrow(), "08:00").isoformat(),
    }
    carl = client_for(people.sam).get("/api/donors/", {"q": "Carl"}).json()["results"][0]
    assert (carl["role"], carl["donor_status"], carl["donations"], carl["last_donation"]) == (
        "self_preservation",
        None,
        0,
        None,
    )


def test_nothing_found_is_an_empty_page(people, client_for):
    response = client_for(people.sam).get("/api/donors/", {"q": "nobody%_'"})
    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.parametrize("persona", ["alice", "carl", "rita", "adam", None])
def test_only_who_may_see_identities_may_search(people, client_for, persona):
    user = getattr(people, persona) if persona else None
    response = client_for(user).get("/api/donors/", {"q": "Alice"})
    assert response.status_code == (401 if user is None else 403)
    assert "Alice" not in response.content.decode()


def test_staff_qualify_an_applicant_audited_and_he_is_told(people, client_for):
    DonorProfile.objects.filter(user=people.alice).update(donor_status="applicant")
    response = client_for(people.sam).patch(
        f"/api/donors/{code(people.alice)}/",
        {"donor_status": "qualified", "note": "semen analysis normal, tests clear"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["donor_status"] == "qualified"
    assert DonorProfile.objects.get(user=people.alice).donor_status == "qualified"
    event = AuditEvent.objects.get(action="donor.status_changed")
    assert event.actor == people.sam
    assert event.data == {"from": "applicant", "to": "qualified", "note": "semen analysis normal, tests clear"}
    (told,) = Notification.objects.filter(recipient=people.alice, kind="donor.status")
    assert told.data == {"status": "qualified"}
    assert "semen" not in told.body and "semen" not in told.title


def test_the_same_status_again_changes_nothing_and_tells_nobody(people, client_for):
    response = client_for(people.sam).patch(
        f"/api/donors/{code(people.alice)}/", {"donor_status": "qualified"}, format="json"
    )
    assert response.status_code == 200
    assert not AuditEvent.objects.filter(action="donor.status_changed").exists()
    assert not Notification.objects.filter(kind="donor.status").exists()


@pytest.mark.parametrize(
    ("body", "status"),
    [({"donor_status": "promoted"}, 400), ({}, 400), ({"donor_status": "qualified", "note": "x" * 501}, 400)],
)
def test_a_bad_change_is_a_400_and_changes_nothing(people, client_for, body, status):
    response = client_for(people.sam).patch(f"/api/donors/{code(people.alice)}/", body, format="json")
    assert response.status_code == status
    assert DonorProfile.objects.get(user=people.alice).donor_status == "qualified"


def test_an_unknown_code_is_a_404_and_a_self_preservation_client_a_400(people, client_for):
    staff = client_for(people.sam)
    assert staff.patch("/api/donors/DNOSUCH1/", {"donor_status": "retired"}, format="json").status_code == 404
    response = staff.patch(f"/api/donors/{code(people.carl)}/", {"donor_status": "retired"}, format="json")
    assert response.status_code == 400
    assert DonorProfile.objects.get(user=people.carl).donor_status is None


@pytest.mark.parametrize("persona", ["alice", "rita", "adam", None])
def test_only_staff_change_a_status(people, client_for, persona):
    user = getattr(people, persona) if persona else None
    response = client_for(user).patch(f"/api/donors/{code(people.alice)}/", {"donor_status": "retired"}, format="json")
    assert response.status_code == (401 if user is None else 403)
    assert DonorProfile.objects.get(user=people.alice).donor_status == "qualified"


def test_a_suspended_donor_can_book_nothing(people, client_for, room):
    client_for(people.sam).patch(f"/api/donors/{code(people.alice)}/", {"donor_status": "suspended"}, format="json")
    response = client_for(people.alice).post(
        "/api/bookings/", {"room": room.pk, "start": f.at(f.tomorrow(), "09:00").isoformat()}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "purpose_not_allowed"
