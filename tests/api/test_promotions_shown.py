"""POST /api/promotions/shown/: the promotions a page showed its logged-in reader count as read in
staff's figures; another's notifications, unknown ids and bad bodies change nothing."""

from __future__ import annotations

import pytest

from clinic.notifications.models import Notification
from clinic.outreach.models import Promotion


def publish(client, title="Open day"):
    body = {"title": title, "body": "Come and see.", "audience": ["donor"]}
    return client.post("/api/promotions/", body, format="json").json()["id"]


def test_shown_promotions_count_as_read(people, client_for):
    shown = publish(client_for(people.sam))
    other = publish(client_for(people.sam), "Other")
    response = client_for(people.alice).post("/api/promotions/shown/", {"promotions": [shown]}, format="json")
    assert response.status_code == 200
    assert response.json() == {"promotions": [shown], "marked": 1}
    read = Notification.objects.filter(kind="promotion", read_at__isnull=False)
    assert [(n.recipient, n.data["promotion"]) for n in read] == [(people.alice, shown)]
    items = {p["id"]: p for p in client_for(people.sam).get("/api/promotions/?all=1").json()}
    assert (items[shown]["sent"], items[shown]["read"]) == (2, 1)
    assert items[other]["read"] == 0
    # Again: already read, nothing changes.
    assert (
        client_for(people.alice).post("/api/promotions/shown/", {"promotions": [shown]}, format="json").json()["marked"]
        == 0
    )
    assert Promotion.objects.count() == 2


@pytest.mark.parametrize(
    "body", [{}, {"promotions": []}, {"promotions": ["x"]}, {"promotions": list(range(1, 60))}, []]
)
def test_bad_bodies_are_a_400(people, client_for, body):
    publish(client_for(people.sam))
    assert client_for(people.alice).post("/api/promotions/shown/", body, format="json").status_code == 400
    assert not Notification.objects.filter(read_at__isnull=False).exists()


def test_visitors_have_nothing_to_mark(db, anon):
    assert anon.post("/api/promotions/shown/", {"promotions": [1]}, format="json").status_code == 401
