"""POST /api/rooms/{id}/door-token/rotate/: a new door token; the old QR stops working."""

import pytest

from clinic.audit.models import AuditEvent
from clinic.rooms.models import Room
from tests import factories as f


@pytest.fixture
def room(db):
    return f.room("Room A")


def rotate(client, room_id):
    return client.post(f"/api/rooms/{room_id}/door-token/rotate/")


def test_it_gives_the_room_a_new_door_token(people, room, client_for):
    old = room.door_token
    response = rotate(client_for(people.sam), room.pk)
    assert response.status_code == 200, response.content
    body = response.json()
    row = Room.objects.get(pk=room.pk)
    assert body["door_token"] == row.door_token != old
    assert len(row.door_token) >= 22 and row.door_token != "lobby"
    assert body["door_url"].endswith(f"/d/{row.door_token}")
    assert row.door_token_rotated is not None
    assert not Room.objects.filter(door_token=old).exists()
    assert AuditEvent.objects.filter(
        action="room.door_token_rotated", object_id=str(room.pk), actor=people.sam
    ).exists()


def test_each_rotation_gives_a_different_token(people, room, client_for):
    client = client_for(people.sam)
    tokens = {rotate(client, room.pk).json()["door_token"] for _ in range(5)}
    assert len(tokens) == 5
    assert Room.objects.get(pk=room.pk).door_token in tokens


@pytest.mark.parametrize("persona", ["alice", "carl", "rita", "adam"])
def test_it_is_refused_without_manage_rooms(people, room, client_for, persona):
    response = rotate(client_for(getattr(people, persona)), room.pk)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert room.door_token not in response.content.decode()
    row = Room.objects.get(pk=room.pk)
    assert (row.door_token, row.door_token_rotated) == (room.door_token, None)
    assert not AuditEvent.objects.filter(action="room.door_token_rotated").exists()


def test_anonymous_visitors_get_a_401(room, anon):
    assert rotate(anon, room.pk).status_code == 401
    assert Room.objects.get(pk=room.pk).door_token == room.door_token


def test_an_unknown_room_is_a_404(people, room, client_for):
    response = rotate(client_for(people.sam), 9999)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert Room.objects.get(pk=room.pk).door_token == room.door_token
