"""GET /api/notifications/?unread=true: the header's count of unread messages; marking one read
takes it off."""

from __future__ import annotations

from clinic.notifications.services import notify


def test_unread_filter_and_count(people, client_for):
    first, second = notify([people.alice], "promotion", context={"promotion": 1, "title": "a", "body": "b"}) + notify(
        [people.alice], "promotion", context={"promotion": 2, "title": "c", "body": "d"}
    )
    notify([people.bob], "promotion", context={"promotion": 1, "title": "a", "body": "b"})
    client = client_for(people.alice)
    answer = client.get("/api/notifications/?unread=true&page_size=1").json()
    assert answer["count"] == 2
    assert client.post(f"/api/notifications/{first.pk}/read/").status_code == 200
    answer = client.get("/api/notifications/?unread=true").json()
    assert (answer["count"], [n["id"] for n in answer["results"]]) == (1, [second.pk])
    assert client.get("/api/notifications/").json()["count"] == 2
    assert client.get("/api/notifications/?unread=maybe").status_code == 400
