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


def test_a_new_password_ends_every_other_token_and_session_but_not_the_asking_one(people):
    from django.test import Client
    from rest_framework.test import APIClient

    from clinic.accounts.models import AccessToken

    phone, tablet = APIClient(), APIClient()
    for client in (phone, tablet):
        key = client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json").json()[
            "token"
        ]
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    browser = Client()
    assert browser.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    assert browser.get("/api/me/").status_code == 200

    changed = phone.patch("/api/me/", {"password": "Another-pass-2026", "current_password": PASSWORD}, format="json")
    assert changed.status_code == 200, changed.content
    assert phone.get("/api/me/").status_code == 200
    assert tablet.get("/api/me/").status_code == 401
    assert browser.get("/api/me/").status_code in (401, 403)
    assert AccessToken.objects.filter(user=people.alice).count() == 1


def test_a_new_password_set_in_a_session_keeps_that_session_and_ends_the_tokens(people):
    from django.test import Client
    from rest_framework.test import APIClient

    app = APIClient()
    key = app.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json").json()["token"]
    app.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    browser = Client(enforce_csrf_checks=False)
    browser.post("/login/", {"username": "alice", "password": PASSWORD})
    response = browser.patch(
        "/api/me/", {"password": "Another-pass-2026", "current_password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert browser.get("/api/me/").status_code == 200
    assert app.get("/api/me/").status_code == 401


def test_a_password_set_elsewhere_ends_every_token(people, client_for):
    """A password reset or the admin's password form: no login asked for it, none is kept."""
    client = client_for(people.alice)
    assert client.get("/api/me/").status_code == 200
    people.alice.set_password("Reset-by-staff-2026")
    people.alice.save()
    assert client.get("/api/me/").status_code == 401
