"""Promotions and consultation answers reach the sockets of the people they are for, and no one
else's (real Redis channel layer, in-process ASGI sockets)."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from clinic.notifications import services
from tests.realtime.support import celery_broker
from tests.realtime.test_socket import DEAD_BROKER, PATH, drain, opened, token

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def listen(people, names, action):
    """Open a socket per person, run `action` (then the delivery pass), return what each heard."""

    async def scenario():
        sockets = {}
        for name in names:
            socket, connected, _ = await opened(f"{PATH}?token={await sync_to_async(token)(getattr(people, name))}")
            assert connected, name
            sockets[name] = socket
        await sync_to_async(action)()
        await sync_to_async(services.deliver_pending)()
        heard = {name: await drain(socket) for name, socket in sockets.items()}
        for socket in sockets.values():
            await socket.disconnect()
        return heard

    with celery_broker(DEAD_BROKER):
        return async_to_sync(scenario)()


def test_a_promotion_for_donors_reaches_donors_only(people, client_for, shared_redis_layer):
    def publish():
        response = client_for(people.sam).post(
            "/api/promotions/", {"title": "Open day", "body": "Saturday", "audience": ["donor"]}, format="json"
        )
        assert response.status_code == 201

    heard = listen(people, ("alice", "bob", "carl", "sam", "rita"), publish)
    assert [n["kind"] for n in heard["alice"]] == ["promotion"]
    assert [n["kind"] for n in heard["bob"]] == ["promotion"]
    assert heard["carl"] == heard["sam"] == heard["rita"] == []


def test_an_answer_reaches_the_asker_only(people, client_for, anon, shared_redis_layer):
    asked = client_for(people.alice).post("/api/consultations/", {"question": "Sunday?"}, format="json").json()
    anon.post("/api/consultations/", {"question": "Parking?", "contact": "13812345678"}, format="json")

    def answer():
        response = client_for(people.sam).post(
            f"/api/consultations/{asked['id']}/answer/", {"answer": "Yes"}, format="json"
        )
        assert response.status_code == 200

    heard = listen(people, ("alice", "bob", "sam"), answer)
    assert [n["kind"] for n in heard["alice"]] == ["consultation.answered"]
    assert "Sunday" not in heard["alice"][0]["title"]
    assert heard["bob"] == heard["sam"] == []
