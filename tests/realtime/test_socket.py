"""/ws/notifications/ in process (an ASGI communicator against the ASGI application,
real Redis channel layer): who may open a socket, and who hears what."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client

from clinic.accounts.models import AccessToken as Token
from clinic.asgi import application
from clinic.notifications import services
from clinic.notifications.models import Notification
from tests import factories as f
from tests.realtime.support import SocketCommunicator, celery_broker

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

PATH = "/ws/notifications/"
GOOD_ORIGIN = (b"origin", b"http://127.0.0.1:8000")
DEAD_BROKER = "redis://127.0.0.1:1/0"


def token(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


async def opened(path: str = PATH, headers: list | None = None) -> tuple[SocketCommunicator, bool, object]:
    socket = SocketCommunicator(application, path, headers=headers or [])
    connected, detail = await socket.connect(timeout=3)
    return socket, connected, detail


def connect_result(path: str = PATH, headers: list | None = None) -> tuple[bool, object]:
    async def attempt():
        socket, connected, detail = await opened(path, headers)
        await socket.disconnect()
        return connected, detail

    return async_to_sync(attempt)()


async def drain(socket: SocketCommunicator, wait_s: float = 0.5) -> list[dict]:
    """Everything pushed until the socket has been quiet for `wait_s`."""
    received = []
    while not await socket.receive_nothing(timeout=wait_s):
        received.append(await socket.receive_json_from())
    return received


# --- who may open a socket -------------------------------------------------------------------


def test_a_native_app_connects_with_a_token_and_no_origin(people, shared_redis_layer):
    assert connect_result(f"{PATH}?token={token(people.alice)}") == (True, None)


def test_a_browser_connects_with_its_session_from_an_allowed_origin(people, shared_redis_layer):
    assert connect_result(headers=[GOOD_ORIGIN, session_cookie(people.alice)]) == (True, None)


@pytest.mark.parametrize(
    "origin",
    [
        b"http://evil.example",
        b"null",
        b"http://127.0.0.1.evil.example",
        b"not a url",
        b"http://127.0.0.1:8001",  # another port of the same host
        b"https://127.0.0.1:8000",  # another scheme
        b"http://127.0.0.1",  # port 80
        b"http://localhost:8000",  # another name for it
    ],
)
def test_a_foreign_origin_is_refused_even_with_a_valid_token(people, shared_redis_layer, origin):
    connected, _ = connect_result(f"{PATH}?token={token(people.alice)}", headers=[(b"origin", origin)])
    assert connected is False


def test_the_origin_the_browser_connected_to_is_the_site_too(people, shared_redis_layer):
    """Reached as localhost:8000 (a local run), the page's own origin is the site's; a name
    that is not one of ALLOWED_HOSTS pointed at the server (DNS rebinding) is not."""
    cookie = session_cookie(people.alice)
    assert connect_result(headers=[(b"host", b"localhost:8000"), (b"origin", b"http://localhost:8000"), cookie]) == (
        True,
        None,
    )
    connected, _ = connect_result(headers=[(b"host", b"localhost:8000"), (b"origin", b"http://localhost:8001"), cookie])
    assert connected is False
    connected, _ = connect_result(
        headers=[(b"host", b"rebound.example:8000"), (b"origin", b"http://rebound.example:8000"), cookie]
    )
    assert connected is False


def test_without_origin_a_session_is_not_enough(people, shared_redis_layer):
    connected, _ = connect_result(headers=[session_cookie(people.alice)])
    assert connected is False


def test_without_origin_a_bad_or_revoked_token_is_refused(people, shared_redis_layer):
    assert connect_result(f"{PATH}?token=not-a-token")[0] is False
    key = token(people.bob)
    people.bob.is_active = False
    people.bob.save()
    assert connect_result(f"{PATH}?token={key}")[0] is False


def test_an_anonymous_socket_is_refused_with_4401(db, shared_redis_layer):
    assert connect_result(headers=[GOOD_ORIGIN]) == (False, 4401)
    assert connect_result(f"{PATH}?token=not-a-token", headers=[GOOD_ORIGIN]) == (False, 4401)


# --- who hears what --------------------------------------------------------------------------


@pytest.fixture
def room(db):
    room = f.room("Room A")
    f.weekly_opening(room)
    return room


def test_each_person_hears_only_their_own(people, room, client_for, shared_redis_layer):
    """Through the API: the booking reaches the reviewers, the approval only its donor. The
    broker is dead here, so the sweep's delivery pass is what pushes."""

    def book_and_approve() -> int:
        response = client_for(people.alice).post(
            "/api/bookings/", {"room": room.pk, "start": f.at(f.tomorrow(), "09:00").isoformat()}, format="json"
        )
        assert response.status_code == 201, response.content
        services.deliver_pending()
        for reviewer in (people.sam, people.rita):
            [task] = client_for(reviewer).get("/api/tasks/").json()
            assert client_for(reviewer).post(f"/api/tasks/{task['id']}/approve/", {}, format="json").status_code == 200
        services.deliver_pending()
        return response.json()["id"]

    async def scenario():
        sockets = {}
        for name in ("alice", "bob", "sam", "rita"):
            user = getattr(people, name)
            socket, connected, _ = await opened(f"{PATH}?token={await sync_to_async(token)(user)}")
            assert connected, name
            sockets[name] = socket
        booking_id = await sync_to_async(book_and_approve)()
        heard = {name: await drain(socket) for name, socket in sockets.items()}
        for socket in sockets.values():
            await socket.disconnect()
        return booking_id, heard

    with celery_broker(DEAD_BROKER):
        booking_id, heard = async_to_sync(scenario)()

    assert [n["kind"] for n in heard["sam"]] == ["booking.requested"]
    assert [n["kind"] for n in heard["rita"]] == ["room.requested"]
    assert [n["kind"] for n in heard["alice"]] == ["booking.reviewed", "booking.reviewed", "booking.approved"]
    assert heard["bob"] == []
    assert all(n["booking"] == booking_id for n in heard["alice"] + heard["sam"] + heard["rita"])
    # What arrived is what the list API returns, one for one.
    listed = client_for(people.alice).get("/api/notifications/").json()["results"]
    assert list(reversed(listed)) == heard["alice"]
    # The room manager's copy carries the donor code, never the name or phone.
    rita_copy = json.dumps(heard["rita"])
    assert people.alice.donor_code in rita_copy
    for secret in ("Alice", "Wang", people.alice.phone, "alice"):
        assert secret not in rita_copy
    assert not Notification.objects.filter(delivered_at__isnull=True).exists()


def test_a_push_reaches_every_open_socket_of_that_person(people, shared_redis_layer):
    async def scenario():
        key = await sync_to_async(token)(people.rita)
        first, _, _ = await opened(f"{PATH}?token={key}")
        second, _, _ = await opened(headers=[GOOD_ORIGIN, await sync_to_async(session_cookie)(people.rita)])
        await sync_to_async(lambda: services.notify([people.rita], "door.held_open", context={"room": "Room A"}))()
        await sync_to_async(services.deliver_pending)()
        heard = [await drain(first), await drain(second)]
        await first.disconnect()
        await second.disconnect()
        return heard

    with celery_broker(DEAD_BROKER):
        heard = async_to_sync(scenario)()
    assert [[n["kind"] for n in socket] for socket in heard] == [["door.held_open"], ["door.held_open"]]


def test_room_state_reaches_the_room_board_watchers_sockets_and_nobody_else(people, room, shared_redis_layer):
    """The room manager (review_room) and staff (view_all_bookings) hear a room's state; a donor
    does not. Who watches is decided as the socket opens."""

    async def scenario():
        sockets = {}
        for name in ("rita", "sam", "alice"):
            key = await sync_to_async(token)(getattr(people, name))
            sockets[name], connected, _ = await opened(f"{PATH}?token={key}")
            assert connected
        assert await sync_to_async(services.push_room_state)(room.pk) is True
        heard = {name: await drain(socket, 0.3) for name, socket in sockets.items()}
        for socket in sockets.values():
            await socket.disconnect()
        return heard

    heard = async_to_sync(scenario)()
    state = {"kind": "room.state", "data": {"room": room.pk, "name": "Room A", "state": "free"}}
    assert heard == {"rita": [state], "sam": [state], "alice": []}


def test_a_deleted_room_has_no_state_to_push(shared_redis_layer):
    assert services.push_room_state(2**40) is False


def test_messages_from_the_client_are_ignored(people, shared_redis_layer):
    async def scenario():
        socket, _, _ = await opened(f"{PATH}?token={await sync_to_async(token)(people.alice)}")
        await socket.send_to(json.dumps({"type": "mark_read", "id": 1}))
        await socket.send_to("not json at all")
        received = await drain(socket, 0.3)
        await socket.disconnect()
        return received

    assert async_to_sync(scenario)() == []
