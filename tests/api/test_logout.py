from clinic.accounts.models import AccessToken as Token
from tests.factories import PASSWORD


def test_logout_stops_the_token_working(people, client_for):
    client = client_for(people.alice)
    assert client.get("/api/me/").status_code == 200
    response = client.post("/api/auth/logout/")
    assert response.status_code == 204
    assert not Token.objects.filter(user=people.alice).exists()
    assert client.get("/api/me/").status_code == 401


def test_logout_needs_a_login(anon, db):
    assert anon.post("/api/auth/logout/").status_code == 401


def test_logout_ends_this_login_only(people):
    from rest_framework.test import APIClient

    phone, desk = APIClient(), APIClient()
    for client in (phone, desk):
        key = client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json").json()[
            "token"
        ]
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert phone.post("/api/auth/logout/").status_code == 204
    assert phone.get("/api/me/").status_code == 401
    assert desk.get("/api/me/").status_code == 200
    assert Token.objects.filter(user=people.alice).count() == 1
