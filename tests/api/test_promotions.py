from datetime import timedelta

from django.utils import timezone

from clinic.notifications.models import Notification
from clinic.outreach.models import Promotion
from clinic.outreach.services import push_due_promotions


def publish(client, **body):
    return client.post(
        "/api/promotions/", {"title": "Open day", "body": "Come and see.", "audience": ["donor"], **body}, format="json"
    )


def test_staff_publish_to_donors_and_each_donor_is_notified(people, client_for):
    response = publish(client_for(people.sam))
    assert response.status_code == 201, response.content
    promotion = Promotion.objects.get()
    assert promotion.pushed_at is not None
    notified = set(Notification.objects.filter(kind="promotion").values_list("recipient__username", flat=True))
    assert notified == {"alice", "bob"}


def test_visitors_see_only_visitor_items(people, client_for, anon):
    staff = client_for(people.sam)
    publish(staff, title="For visitors", audience=["visitor"])
    publish(staff, title="For donors", audience=["donor"])
    assert [p["title"] for p in anon.get("/api/promotions/").json()] == ["For visitors"]
    assert [p["title"] for p in client_for(people.alice).get("/api/promotions/").json()] == ["For donors"]
    assert client_for(people.carl).get("/api/promotions/").json() == []
    assert not Notification.objects.filter(kind="promotion", recipient=people.carl).exists()


def test_a_future_item_is_pushed_when_its_window_opens(people, client_for):
    start = timezone.now() + timedelta(hours=1)
    publish(client_for(people.sam), publish_from=start.isoformat())
    assert not Notification.objects.filter(kind="promotion").exists()
    assert client_for(people.alice).get("/api/promotions/").json() == []
    assert push_due_promotions(start + timedelta(seconds=1)) == 2
    assert push_due_promotions(start + timedelta(seconds=2)) == 0
    assert Notification.objects.filter(kind="promotion").count() == 2


def test_staff_see_how_many_read_each(people, client_for):
    publish(client_for(people.sam))
    Notification.objects.filter(kind="promotion", recipient=people.alice).update(read_at=timezone.now())
    items = client_for(people.sam).get("/api/promotions/?all=1").json()
    assert (items[0]["sent"], items[0]["read"]) == (2, 1)


def test_bad_promotions_are_refused(people, client_for, anon):
    staff = client_for(people.sam)
    assert publish(staff, audience=["aliens"]).status_code == 400
    assert publish(staff, audience=[]).status_code == 400
    now = timezone.now()
    assert (
        publish(staff, publish_from=now.isoformat(), publish_until=(now - timedelta(hours=1)).isoformat()).status_code
        == 400
    )
    assert publish(client_for(people.alice)).status_code == 403
    assert publish(anon).status_code == 401
    assert not Promotion.objects.exists()
