"""DELETE /api/closures/{id}/: staff reopen a room's or the site's closed days (audited); the
slots come back; everyone else is refused and the closure stays."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from clinic.audit.models import AuditEvent
from clinic.rooms.models import Closure
from tests import factories as f


def days_ahead(n: int) -> date:
    return timezone.localdate() + timedelta(days=n)


@pytest.fixture
def room(db):
    room = f.room("Room A")
    f.weekly_opening(room, start="08:00", end="10:00", slot_minutes=60)
    return room


def offered(client, day: date) -> int:
    return sum(len(slot["free_rooms"]) for slot in client.get("/api/slots/", {"date": day.isoformat()}).json())


@pytest.mark.parametrize("site_wide", [False, True])
def test_staff_reopen_a_closure(people, room, client_for, anon, site_wide):
    day = days_ahead(3)
    closure = Closure.objects.create(room=None if site_wide else room, start_date=day, end_date=day, reason="holiday")
    assert offered(anon, day) == 0
    response = client_for(people.sam).delete(f"/api/closures/{closure.pk}/")
    assert response.status_code == 204
    assert not Closure.objects.exists()
    assert offered(anon, day) == 2
    event = AuditEvent.objects.get(action="closure.deleted")
    assert (event.actor, event.data["reason"], event.data["start_date"]) == (people.sam, "holiday", day.isoformat())
    # Twice: nothing left to delete.
    assert client_for(people.sam).delete(f"/api/closures/{closure.pk}/").status_code == 404


@pytest.mark.parametrize("persona,status", [("alice", 403), ("carl", 403), ("rita", 403), ("anon", 401)])
def test_only_staff_reopen(people, room, client_for, persona, status):
    closure = Closure.objects.create(room=room, start_date=days_ahead(3), end_date=days_ahead(3))
    client = client_for(None if persona == "anon" else getattr(people, persona))
    assert client.delete(f"/api/closures/{closure.pk}/").status_code == status
    assert Closure.objects.filter(pk=closure.pk).exists()
