"""GET /api/notifications/: the caller's own notifications, newest first, `?after=` to catch up."""

import pytest

from clinic.notifications import services
from tests import factories as f


@pytest.fixture
def booking(people):
    room = f.room("Room A")
    f.weekly_opening(room)
    return f.booking(people.alice, room, f.at(f.tomorrow(), "09:00"))


@pytest.fixture
def rows(people, booking):
    """Three for alice, one for bob, one for sam."""
    mine = [services.notify([people.alice], kind, booking=booking)[0] for kind in ("booking.reviewed",) * 2]
    services.notify([people.bob], "promotion", context={"title": "Spring hours"})
    services.notify_holders("bookings.review_donation", "booking.requested", booking=booking)
    mine += services.notify([people.alice], "booking.approved", booking=booking)
    return mine


def test_it_lists_only_the_callers_own_newest_first(people, rows, client_for):
    response = client_for(people.alice).get("/api/notifications/")
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (3, None, None)
    assert [n["id"] for n in body["results"]] == [r.pk for r in reversed(rows)]
    # The same object the socket pushes.
    assert body["results"][0] == services.payload(rows[-1])
    assert body["results"][0]["created"].endswith("+08:00")
    assert client_for(people.bob).get("/api/notifications/").json()["count"] == 1


def test_after_gives_only_what_came_later(people, rows, client_for):
    response = client_for(people.alice).get(f"/api/notifications/?after={rows[0].pk}")
    assert [n["id"] for n in response.json()["results"]] == [rows[2].pk, rows[1].pk]
    assert client_for(people.alice).get(f"/api/notifications/?after={rows[2].pk}").json()["results"] == []
    assert client_for(people.alice).get("/api/notifications/?after=0").json()["count"] == 3


@pytest.mark.parametrize("after", ["abc", "-1", "1.5", "99999999999999999999999"])
def test_a_bad_after_is_a_json_400(people, rows, client_for, after):
    response = client_for(people.alice).get(f"/api/notifications/?after={after}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "after" in response.json()["errors"]


def test_it_pages(people, rows, client_for):
    body = client_for(people.alice).get("/api/notifications/?page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    assert client_for(people.alice).get("/api/notifications/?page=9").status_code == 404


def test_visitors_get_401(anon, db):
    response = anon.get("/api/notifications/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
