"""GET/POST /api/rooms/, GET/PATCH /api/rooms/{id}/: lock settings and door tokens only for
holders of rooms.manage_rooms; writes only for them."""

import pytest
from django.contrib.auth.models import Group, Permission

from clinic.audit.models import AuditEvent
from clinic.rooms.models import RelayModule, Room
from tests import factories as f

LOCK = {"host": "10.0.0.7", "port": 502, "unit": 1, "coil": 3, "pulse_ms": 2000}
PUBLIC_KEYS = {"id", "name", "active", "door_qr_mode"}
STAFF_KEYS = PUBLIC_KEYS | {"door_token", "door_url", "lock"}


@pytest.fixture
def rooms(db):
    relay = RelayModule.objects.create(host="10.0.0.7", port=502, unit=1)
    a = f.room("Room A", coil=0, relay=relay, pulse_ms=2500)
    b = f.room("Room B", coil=1)
    off = f.room("Room Z", coil=2, active=False)
    return a, b, off


def create(client, body):
    return client.post("/api/rooms/", body, format="json")


def test_it_lists_active_rooms_without_lock_or_door_token_to_donors_and_room_managers(people, rooms, client_for):
    a, b, _ = rooms
    for user in (people.alice, people.carl, people.rita, people.adam):
        response = client_for(user).get("/api/rooms/")
        assert response.status_code == 200
        assert response.json() == [
            {"id": a.pk, "name": "Room A", "active": True, "door_qr_mode": "unlock"},
            {"id": b.pk, "name": "Room B", "active": True, "door_qr_mode": "unlock"},
        ]
        assert a.door_token not in response.content.decode()


def test_it_lists_every_room_with_lock_and_door_token_to_staff(people, rooms, client_for):
    a = rooms[0]
    response = client_for(people.sam).get("/api/rooms/")
    assert response.status_code == 200
    body = {room["name"]: room for room in response.json()}
    assert list(body) == ["Room A", "Room B", "Room Z"]
    assert all(set(room) == STAFF_KEYS for room in body.values())
    a.refresh_from_db()
    assert body["Room A"]["door_token"] == a.door_token and len(a.door_token) >= 22
    assert body["Room A"]["door_url"].endswith(f"/d/{a.door_token}")
    assert body["Room A"]["lock"] == {
        "host": "10.0.0.7",
        "port": 502,
        "unit": 1,
        "coil": 0,
        "pulse_ms": 2500,
        "mode": "flash",
        "framing": "tcp",
        "door_sensor_input": None,
        "offline_since": None,
    }
    assert body["Room B"]["lock"] is None
    assert body["Room Z"]["active"] is False


def test_it_follows_the_permission_not_the_role(people, rooms, client_for):
    """Granting manage_rooms to room managers shows them the lock settings on the next request."""
    assert "lock" not in client_for(people.rita).get("/api/rooms/").json()[0]
    Group.objects.get(name="room_manager").permissions.add(
        Permission.objects.get(content_type__app_label="rooms", codename="manage_rooms")
    )
    first = client_for(people.rita).get("/api/rooms/").json()[0]
    assert set(first) == STAFF_KEYS


def test_it_refuses_anonymous_visitors(rooms, anon):
    response = anon.get("/api/rooms/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert anon.get(f"/api/rooms/{rooms[0].pk}/").status_code == 401


def test_it_creates_a_room_with_its_lock(people, client_for):
    response = create(client_for(people.sam), {"name": "Room C", "lock": LOCK, "door_qr_mode": "shared"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == STAFF_KEYS
    assert body["lock"] == {**LOCK, "mode": "flash", "framing": "tcp", "door_sensor_input": None, "offline_since": None}
    row = Room.objects.select_related("relay").get(pk=body["id"])
    assert (row.name, row.door_qr_mode, row.coil, row.pulse_ms, row.active) == ("Room C", "shared", 3, 2000, True)
    assert (row.relay.host, row.relay.port, row.relay.unit) == ("10.0.0.7", 502, 1)
    assert body["door_token"] == row.door_token and len(row.door_token) >= 22
    assert AuditEvent.objects.filter(action="room.created", object_id=str(row.pk), actor=people.sam).exists()


def test_it_creates_a_room_without_a_lock(people, client_for):
    response = create(client_for(people.sam), {"name": "  Room D  "})
    assert response.status_code == 201
    row = Room.objects.get(pk=response.json()["id"])
    assert (row.name, row.relay, row.door_qr_mode) == ("Room D", None, "unlock")
    assert response.json()["lock"] is None


@pytest.mark.parametrize("persona", ["alice", "carl", "rita", "adam"])
def test_it_refuses_room_writes_without_manage_rooms(people, rooms, client_for, persona):
    client = client_for(getattr(people, persona))
    response = create(client, {"name": "Room X", "lock": LOCK})
    assert response.status_code == 403
    assert set(response.json()) >= {"detail", "code"}
    response = client.patch(f"/api/rooms/{rooms[1].pk}/", {"name": "Renamed", "active": False}, format="json")
    assert response.status_code == 403
    assert not Room.objects.filter(name__in=["Room X", "Renamed"]).exists()
    assert Room.objects.get(pk=rooms[1].pk).active is True


def test_anonymous_visitors_cannot_create_rooms(db, anon):
    assert create(anon, {"name": "Room X"}).status_code == 401
    assert not Room.objects.exists()


@pytest.mark.parametrize(
    "lock",
    [
        {**LOCK, "port": 0},
        {**LOCK, "port": 70000},
        {**LOCK, "unit": 248},
        {**LOCK, "coil": 32},
        {**LOCK, "coil": -1},
        {**LOCK, "pulse_ms": 50},
        {**LOCK, "pulse_ms": 60001},
        {**LOCK, "mode": "relay"},
        {**LOCK, "framing": "rtu"},
        {**LOCK, "framing": None},
        {**LOCK, "host": ""},
        {**LOCK, "host": "8.8.8.8"},
        {**LOCK, "host": "relay.example.com"},
        {**LOCK, "host": "169.254.169.254"},
        {**LOCK, "host": "2001:db8::1"},
        {k: v for k, v in LOCK.items() if k != "host"},
        {**LOCK, "port": "five"},
        "10.0.0.7:502",
        [LOCK],
    ],
)
def test_it_rejects_bad_lock_values(people, client_for, lock):
    response = create(client_for(people.sam), {"name": "Room X", "lock": lock})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid" and "lock" in body["errors"] and body["detail"].startswith("lock")
    assert not Room.objects.exists() and not RelayModule.objects.exists()


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 101}, {"name": "R", "door_qr_mode": "open"}, []])
def test_it_rejects_bad_room_bodies(people, client_for, body):
    response = create(client_for(people.sam), body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert not Room.objects.exists()


def test_a_duplicate_name_is_a_409(people, rooms, client_for):
    client = client_for(people.sam)
    response = create(client, {"name": "Room A"})
    assert response.status_code == 409
    assert response.json()["code"] == "room_name_taken"
    assert Room.objects.filter(name="Room A").count() == 1
    response = client.patch(f"/api/rooms/{rooms[1].pk}/", {"name": "Room A"}, format="json")
    assert response.status_code == 409
    assert Room.objects.get(pk=rooms[1].pk).name == "Room B"


def test_a_relay_channel_used_by_another_room_is_a_409(people, rooms, client_for):
    response = create(client_for(people.sam), {"name": "Room C", "lock": {**LOCK, "coil": 0}})
    assert response.status_code == 409
    assert response.json()["code"] == "relay_channel_taken"
    assert not Room.objects.filter(name="Room C").exists()


def test_relay_hosts_are_limited_to_the_relay_networks(people, rooms, client_for, settings):
    client = client_for(people.sam)
    response = create(client, {"name": "Room X", "lock": {**LOCK, "host": "203.0.113.7"}})
    assert response.status_code == 400
    assert "RELAY_NETWORKS" in response.json()["detail"]
    response = client.patch(f"/api/rooms/{rooms[1].pk}/", {"lock": {**LOCK, "host": "203.0.113.7"}}, format="json")
    assert response.status_code == 400 and Room.objects.get(pk=rooms[1].pk).relay is None
    settings.RELAY_NETWORKS = ["203.0.113.0/24"]
    assert create(client, {"name": "Room X", "lock": {**LOCK, "host": "203.0.113.7"}}).status_code == 201
    assert create(client, {"name": "Room Y", "lock": {**LOCK, "host": "10.0.0.9"}}).status_code == 400


def test_a_room_on_an_rtu_over_tcp_board_keeps_its_framing(people, client_for):
    lock = {**LOCK, "port": 4196, "framing": "rtu_over_tcp", "unit": 3}
    response = create(client_for(people.sam), {"name": "Room W", "lock": lock})
    assert response.status_code == 201, response.content
    assert response.json()["lock"]["framing"] == "rtu_over_tcp" and response.json()["lock"]["unit"] == 3
    relay = RelayModule.objects.get()
    assert (relay.host, relay.port, relay.unit, relay.framing, relay.mode) == (
        "10.0.0.7",
        4196,
        3,
        "rtu_over_tcp",
        "flash",
    )


@pytest.mark.parametrize(
    "other", [{"framing": "rtu_over_tcp"}, {"mode": "coil"}, {"framing": "rtu_over_tcp", "unit": 2}]
)
def test_a_board_in_use_keeps_its_mode_and_framing_for_every_room_on_it(people, rooms, client_for, other):
    """Room A uses the board 10.0.0.7:502 as flash over tcp: another room on the same board (any
    unit id behind that address) naming other values is refused, and nothing changes."""
    client = client_for(people.sam)
    response = create(client, {"name": "Room C", "lock": {**LOCK, **other}})
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "relay_conflict"
    assert "Room A" in response.json()["detail"]
    assert not Room.objects.filter(name="Room C").exists()
    assert list(RelayModule.objects.values_list("unit", "mode", "framing")) == [(1, "flash", "tcp")]
    response = client.patch(f"/api/rooms/{rooms[1].pk}/", {"lock": {**LOCK, **other}}, format="json")
    assert response.status_code == 409
    assert Room.objects.get(pk=rooms[1].pk).relay is None
    # Agreeing with the board is fine, on another unit id too.
    response = create(client, {"name": "Room C", "lock": {**LOCK, "unit": 2}})
    assert response.status_code == 201, response.content


def test_a_lock_change_without_framing_keeps_the_board_s_framing(people, client_for):
    """An app that does not know `framing` never switches an RTU-over-TCP board to tcp."""
    client = client_for(people.sam)
    lock = {**LOCK, "port": 4196, "framing": "rtu_over_tcp"}
    room = create(client, {"name": "Room W", "lock": lock}).json()
    response = client.patch(
        f"/api/rooms/{room['id']}/", {"lock": {**LOCK, "port": 4196, "pulse_ms": 5000}}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["lock"]["framing"] == "rtu_over_tcp" and response.json()["lock"]["pulse_ms"] == 5000
    second = create(client, {"name": "Room V", "lock": {**LOCK, "port": 4196, "coil": 5}})
    assert second.status_code == 201 and second.json()["lock"]["framing"] == "rtu_over_tcp"


def test_the_only_room_on_a_board_may_change_how_it_is_spoken_to(people, rooms, client_for):
    response = client_for(people.sam).patch(
        f"/api/rooms/{rooms[0].pk}/",
        {"lock": {**LOCK, "coil": 0, "framing": "rtu_over_tcp", "mode": "coil"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["lock"]["framing"] == "rtu_over_tcp"
    relay = Room.objects.select_related("relay").get(pk=rooms[0].pk).relay
    assert (relay.framing, relay.mode) == ("rtu_over_tcp", "coil")


def test_it_shows_one_room(people, rooms, client_for):
    a, _, off = rooms
    response = client_for(people.alice).get(f"/api/rooms/{a.pk}/")
    assert response.status_code == 200
    assert response.json() == {"id": a.pk, "name": "Room A", "active": True, "door_qr_mode": "unlock"}
    response = client_for(people.sam).get(f"/api/rooms/{a.pk}/")
    assert set(response.json()) == STAFF_KEYS
    assert response.json()["door_token"] == a.door_token
    # An inactive room is hidden from those who do not manage rooms.
    assert client_for(people.alice).get(f"/api/rooms/{off.pk}/").status_code == 404
    assert client_for(people.sam).get(f"/api/rooms/{off.pk}/").json()["active"] is False
    response = client_for(people.sam).get("/api/rooms/9999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_it_patches_a_room(people, rooms, client_for):
    _, b, _ = rooms
    client = client_for(people.sam)
    response = client.patch(
        f"/api/rooms/{b.pk}/",
        {"name": "Room B2", "active": False, "door_qr_mode": "shared", "lock": {**LOCK, "coil": 5}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Room B2" and response.json()["lock"]["coil"] == 5
    row = Room.objects.select_related("relay").get(pk=b.pk)
    assert (row.name, row.active, row.door_qr_mode, row.coil, row.relay.host) == (
        "Room B2",
        False,
        "shared",
        5,
        "10.0.0.7",
    )
    assert AuditEvent.objects.filter(action="room.updated", object_id=str(b.pk)).exists()
    # A partial update leaves the rest alone; a null lock removes the relay.
    response = client.patch(f"/api/rooms/{b.pk}/", {"lock": None}, format="json")
    assert response.status_code == 200
    row.refresh_from_db()
    assert (row.name, row.relay, row.door_qr_mode) == ("Room B2", None, "shared")


@pytest.mark.parametrize(
    "body", [{"door_qr_mode": "open"}, {"active": "maybe"}, {"lock": {**LOCK, "coil": 99}}, {"name": ""}]
)
def test_a_bad_patch_is_a_400_and_changes_nothing(people, rooms, client_for, body):
    b = rooms[1]
    response = client_for(people.sam).patch(f"/api/rooms/{b.pk}/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    row = Room.objects.get(pk=b.pk)
    assert (row.name, row.active, row.door_qr_mode, row.relay_id, row.coil) == ("Room B", True, "unlock", None, 1)
