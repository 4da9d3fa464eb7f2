from rest_framework.authtoken.models import Token


def test_logout_stops_the_token_working(people, client_for):
    client = client_for(people.alice)
    assert client.get("/api/me/").status_code == 200
    response = client.post("/api/auth/logout/")
    assert response.status_code == 204
    assert not Token.objects.filter(user=people.alice).exists()
    assert client.get("/api/me/").status_code == 401


def test_logout_needs_a_login(anon, db):
    assert anon.post("/api/auth/logout/").status_code == 401
