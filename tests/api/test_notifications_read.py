"""POST /api/notifications/{id}/read/: the recipient marks one read; for anyone else it does not exist."""

import pytest

from clinic.notifications import services


@pytest.fixture
def row(people):
    return services.notify([people.alice], "promotion", context={"title": "Spring hours"})[0]


def test_the_recipient_marks_it_read_once(people, row, client_for):
    response = client_for(people.alice).post(f"/api/notifications/{row.pk}/read/")
    assert response.status_code == 200
    assert response.json() == {**services.payload(row), "read": True}
    row.refresh_from_db()
    first = row.read_at
    assert first is not None
    assert client_for(people.alice).post(f"/api/notifications/{row.pk}/read/").status_code == 200
    row.refresh_from_db()
    assert row.read_at == first
    assert client_for(people.alice).get("/api/notifications/").json()["results"][0]["read"] is True


@pytest.mark.parametrize("persona", ["bob", "sam", "adam"])
def test_anyone_else_gets_a_404_and_changes_nothing(people, row, client_for, persona):
    response = client_for(getattr(people, persona)).post(f"/api/notifications/{row.pk}/read/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    row.refresh_from_db()
    assert row.read_at is None


@pytest.mark.parametrize("pk", ["0", "999999", "99999999999999999999999"])
def test_an_unknown_id_is_a_404(people, row, client_for, pk):
    response = client_for(people.alice).post(f"/api/notifications/{pk}/read/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_visitors_get_401(anon, row):
    assert anon.post(f"/api/notifications/{row.pk}/read/").status_code == 401
