import pytest

from clinic.accounts.models import User
from tests.factories import PASSWORD

# The permissions behind these answers are one UNION query (clinic.accounts.backends): run on SQLite too.
pytestmark = pytest.mark.db_sensitive


def test_a_donor_sees_his_roles_permissions_and_code(people, client_for):
    body = client_for(people.alice).get("/api/me/").json()
    assert body["username"] == "alice"
    assert body["roles"] == ["donor"]
    assert body["permissions"] == ["bookings.book"]
    assert body["donor_code"] == people.alice.donor_profile.donor_code
    assert body["real_name"] == "Alice Wang"


def test_staff_have_no_donor_code(people, client_for):
    body = client_for(people.sam).get("/api/me/").json()
    assert body["donor_code"] is None
    assert "bookings.review_donation" in body["permissions"]
    assert "real_name" not in body


def test_it_updates_contact_and_identity(people, client_for):
    response = client_for(people.alice).patch(
        "/api/me/", {"email": "a@example.org", "phone": "138 0000 9999", "real_name": "A. Wang"}, format="json"
    )
    assert response.status_code == 200, response.content
    people.alice.refresh_from_db()
    assert people.alice.email == "a@example.org"
    assert people.alice.phone == "13800009999"
    assert people.alice.donor_profile.real_name == "A. Wang"


def test_a_new_password_needs_the_current_one(people, client_for):
    client = client_for(people.alice)
    response = client.patch("/api/me/", {"password": "Another-pass-2026"}, format="json")
    assert response.status_code == 400
    assert "current_password" in response.json()["errors"]
    response = client.patch("/api/me/", {"password": "Another-pass-2026", "current_password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert User.objects.get(username="alice").check_password("Another-pass-2026")


def test_bad_values_change_nothing(people, client_for):
    response = client_for(people.alice).patch("/api/me/", {"email": "not-an-email", "phone": "x"}, format="json")
    assert response.status_code == 400
    people.alice.refresh_from_db()
    assert people.alice.email == "" and people.alice.phone == "13800000001"


def test_anonymous_gets_401(anon, db):
    response = anon.get("/api/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
