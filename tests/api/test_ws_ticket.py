"""POST /api/ws-ticket/: a single-use ticket, valid 60 s, for opening the notification socket
with `?ticket=` instead of a lasting token in the URL (the socket side: tests/realtime and
tests/security/test_local_server.py)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from clinic.accounts import services
from clinic.accounts.models import SocketTicket


def test_a_user_gets_a_ticket_that_works_once(people, client_for):
    response = client_for(people.alice).post("/api/ws-ticket/")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"ticket", "expires_in"} and body["expires_in"] == 60 and len(body["ticket"]) >= 40
    row = SocketTicket.objects.get(pk=body["ticket"])
    assert row.user == people.alice
    assert timedelta(seconds=55) < row.expires - timezone.now() <= timedelta(seconds=60)
    assert services.redeem_socket_ticket(body["ticket"]) == people.alice
    assert services.redeem_socket_ticket(body["ticket"]) is None
    assert not SocketTicket.objects.exists()


def test_an_expired_ticket_or_one_of_a_disabled_account_opens_nothing(people, client_for):
    late = client_for(people.alice).post("/api/ws-ticket/").json()["ticket"]
    SocketTicket.objects.filter(pk=late).update(expires=timezone.now() - timedelta(seconds=1))
    assert services.redeem_socket_ticket(late) is None
    ticket = client_for(people.bob).post("/api/ws-ticket/").json()["ticket"]
    people.bob.is_active = False
    people.bob.save()
    assert services.redeem_socket_ticket(ticket) is None
    assert services.redeem_socket_ticket("x" * 500) is None


def test_expired_tickets_are_swept(people):
    services.issue_socket_ticket(people.alice)
    SocketTicket.objects.update(expires=timezone.now() - timedelta(seconds=1))
    services.issue_socket_ticket(people.bob)
    assert services.purge_socket_tickets() == 1
    assert list(SocketTicket.objects.values_list("user__username", flat=True)) == ["bob"]


def test_visitors_get_no_ticket(db, anon):
    assert anon.post("/api/ws-ticket/").status_code == 401
    assert not SocketTicket.objects.exists()
