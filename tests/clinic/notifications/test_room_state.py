"""room.state: a room's occupancy changed; pushed (not stored) after commit to the room board's
watchers (room managers and everyone who sees all bookings), with the room and its state only."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer
from django.utils import timezone

from clinic.notifications import services
from clinic.notifications.models import Notification
from tests import factories as f
from workflows import reviews, sessions
from workflows.flows import BookingFlow


@pytest.fixture
def room(db):
    return f.room("Room A")


def test_check_in_and_finish_announce_the_room_after_commit(
    people, room, monkeypatch, django_capture_on_commit_callbacks
):
    from tests.workflows.helpers import task_id

    sent = []
    monkeypatch.setattr("clinic.notifications.tasks.push_room_state.delay", sent.append)
    booking = f.booking(people.alice, room, timezone.now())
    BookingFlow.start.run(booking=booking)
    reviews.complete_review(task_id=task_id(booking, "staff_review"), user=people.sam, decision="approved")
    reviews.complete_review(task_id=task_id(booking, "room_review"), user=people.rita, decision="approved")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sessions.check_in(booking=booking, actor=people.alice)
    assert sent == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert sent == [room.pk]
    with django_capture_on_commit_callbacks(execute=True):
        sessions.check_out(booking=booking, actor=people.alice)
    assert sent == [room.pk, room.pk]
    assert not Notification.objects.filter(kind="room.state").exists()  # push-only


def test_the_event_carries_the_room_and_its_state_never_the_donor(people, room):
    now = timezone.now()
    f.booking(people.alice, room, now, status="in_progress", checked_in_at=now)
    event = services.room_state_event(room.pk)
    assert event == {"kind": "room.state", "data": {"room": room.pk, "name": "Room A", "state": "in_use"}}
    assert people.alice.donor_code not in str(event)


@pytest.mark.redis
def test_it_reaches_the_watchers_sockets_and_nobody_else(people, room, redis_url, settings):
    from tests.realtime.support import channel_layers

    settings.CHANNEL_LAYERS = channel_layers(redis_url, prefix=f"room-state-{room.pk}")
    layer = get_channel_layer()

    async def listen(user) -> str:
        channel = await layer.new_channel()
        await layer.group_add(services.group_name(user.pk), channel)
        return channel

    loop = asyncio.new_event_loop()
    try:
        channels = {name: loop.run_until_complete(listen(getattr(people, name))) for name in ("rita", "sam", "alice")}
        assert services.push_room_state(room.pk) == 2  # rita (review_room) and sam (view_all_bookings)

        async def received(channel: str):
            try:
                return await asyncio.wait_for(layer.receive(channel), timeout=1)
            except TimeoutError:
                return None

        got = {name: loop.run_until_complete(received(channel)) for name, channel in channels.items()}
    finally:
        loop.close()
    for name in ("rita", "sam"):
        assert got[name]["notification"] == {
            "kind": "room.state",
            "data": {"room": room.pk, "name": "Room A", "state": "free"},
        }
    assert got["alice"] is None
