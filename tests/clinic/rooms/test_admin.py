"""The admin's relay boards: framing and mode change for every module behind the board's
address (host, port), validated and audited; boards are never added or deleted there."""

from __future__ import annotations

import pytest

from clinic.audit.models import AuditEvent
from clinic.rooms.models import RelayModule
from tests import factories as f


@pytest.fixture
def admin_client_(people, client):
    root = type(people.adam).objects.create_superuser("root", password="x-Long-pass-2026")
    client.force_login(root)
    return client, root


def test_a_board_s_framing_is_changed_for_every_module_behind_its_address(admin_client_):
    client, root = admin_client_
    first = RelayModule.objects.create(host="10.0.0.7", port=4196, unit=1)
    second = RelayModule.objects.create(host="10.0.0.7", port=4196, unit=2)
    elsewhere = RelayModule.objects.create(host="10.0.0.8", port=4196, unit=1)
    f.room("Room A", coil=0, relay=first)
    f.room("Room B", coil=0, relay=second)
    page = client.get(f"/admin/rooms/relaymodule/{first.pk}/change/")
    assert page.status_code == 200 and b"rtu_over_tcp" in page.content
    response = client.post(f"/admin/rooms/relaymodule/{first.pk}/change/", {"framing": "rtu_over_tcp", "mode": "coil"})
    assert response.status_code == 302, response.content
    assert set(RelayModule.objects.filter(port=4196, host="10.0.0.7").values_list("framing", "mode")) == {
        ("rtu_over_tcp", "coil")
    }
    elsewhere.refresh_from_db()
    assert (elsewhere.framing, elsewhere.mode) == ("tcp", "flash")
    event = AuditEvent.objects.get(action="relay.configured")
    assert event.actor == root and event.data == {"mode": "coil", "framing": "rtu_over_tcp"}


def test_a_framing_the_boards_do_not_speak_is_refused(admin_client_):
    client, _ = admin_client_
    board = RelayModule.objects.create(host="10.0.0.7", port=502, unit=1)
    response = client.post(f"/admin/rooms/relaymodule/{board.pk}/change/", {"framing": "ascii", "mode": "flash"})
    assert response.status_code == 200  # the form again, with its error
    board.refresh_from_db()
    assert board.framing == "tcp"
    assert not AuditEvent.objects.filter(action="relay.configured").exists()


def test_boards_are_not_added_or_deleted_in_the_admin(admin_client_):
    client, _ = admin_client_
    board = RelayModule.objects.create(host="10.0.0.7", port=502, unit=1)
    assert client.get("/admin/rooms/relaymodule/add/").status_code == 403
    assert client.post(f"/admin/rooms/relaymodule/{board.pk}/delete/", {"post": "yes"}).status_code == 403
    assert RelayModule.objects.filter(pk=board.pk).exists()
