"""Delivering: one push per row to the recipient's group on a real Redis channel layer, claimed
once; outward copies for what must not be missed; a dead channel layer leaves rows for the sweep."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.core import mail

from clinic.notifications import services
from clinic.notifications.models import Notification
from tests import factories as f
from tests.realtime.support import channel_layers

pytestmark = pytest.mark.redis


class RecordingSms:
    sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        RecordingSms.sent.append((phone, text))


class BrokenEmail:
    def __init__(self, *args, **kwargs) -> None:
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("smtp is down")


@pytest.fixture
def layer(settings, redis_url):
    settings.CHANNEL_LAYERS = channel_layers(redis_url, prefix=f"test-{uuid.uuid4().hex[:12]}")
    return get_channel_layer()


@pytest.fixture
def booking(people):
    room = f.room("Room A")
    f.weekly_opening(room)
    return f.booking(people.alice, room, f.at(f.tomorrow(), "09:00"))


def pushes(layer, user, action, *, wait_s: float = 0.5) -> list[dict]:
    """Listen on the user's group, run `action` (sync), and return what arrived."""

    async def scenario() -> list[dict]:
        channel = await layer.new_channel()
        await layer.group_add(services.group_name(user.pk), channel)
        await sync_to_async(action)()
        received = []
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), timeout=wait_s)
            except TimeoutError:
                return received
            assert message["type"] == "notification.push"
            received.append(message["notification"])

    return async_to_sync(scenario)()


def test_it_pushes_the_row_to_the_recipients_group_once(people, booking, layer):
    [row] = services.notify([people.alice], "booking.approved", booking=booking)
    results = []
    received = pushes(layer, people.alice, lambda: results.extend([services.deliver(row.pk), services.deliver(row.pk)]))
    row.refresh_from_db()
    assert results == [True, False]
    assert received == [services.payload(row)]
    assert received[0]["booking"] == booking.pk and received[0]["read"] is False
    assert row.delivered_at is not None


def test_another_persons_group_hears_nothing(people, booking, layer):
    [row] = services.notify([people.alice], "booking.approved", booking=booking)
    assert pushes(layer, people.bob, lambda: services.deliver(row.pk)) == []


def test_an_unknown_row_is_not_delivered(db, layer):
    assert services.deliver(123456) is False


def test_the_sweep_delivers_what_was_left_in_order_and_only_once(people, booking, layer):
    rows = [services.notify([people.alice], "booking.reviewed", booking=booking)[0] for _ in range(3)]
    Notification.objects.filter(pk=rows[0].pk).update(delivered_at=booking.created)  # already pushed
    counts = []
    received = pushes(
        layer, people.alice, lambda: counts.extend([services.deliver_pending(limit=1), services.deliver_pending()])
    )
    assert counts == [1, 1]
    assert [n["id"] for n in received] == [rows[1].pk, rows[2].pk]
    assert services.deliver_pending() == 0
    assert not Notification.objects.filter(delivered_at__isnull=True).exists()


def test_a_dead_channel_layer_leaves_rows_for_the_next_sweep(people, booking, settings, caplog):
    settings.CHANNEL_LAYERS = channel_layers("redis://127.0.0.1:1/0")
    [row] = services.notify([people.alice], "booking.approved", booking=booking)
    with pytest.raises(Exception, match=r"127\.0\.0\.1:1\b"):
        services.deliver(row.pk)
    assert services.deliver_pending() == 0
    row.refresh_from_db()
    assert row.delivered_at is None
    assert "left for the next sweep" not in caplog.text
    assert "undelivered notifications wait for the next sweep" in caplog.text


def test_what_must_not_be_missed_also_goes_by_email_and_sms(people, booking, layer, settings):
    settings.SMS_BACKEND = "tests.clinic.notifications.test_deliver.RecordingSms"
    RecordingSms.sent = []
    people.alice.email = "a@example.org"
    people.alice.save()
    people.sam.email = "s@example.org"
    people.sam.save()
    [approved] = services.notify([people.alice], "booking.approved", booking=booking)
    [requested] = services.notify_holders("bookings.review_donation", "booking.requested", booking=booking)
    assert services.deliver(approved.pk) and services.deliver(requested.pk)
    assert [(m.to, m.subject, m.body) for m in mail.outbox] == [(["a@example.org"], approved.title, approved.body)]
    assert RecordingSms.sent == [(people.alice.phone, f"{approved.title}: {approved.body}")]


def test_the_default_sms_backend_logs_without_the_full_number(people, booking, layer, caplog):
    caplog.set_level("INFO", logger="clinic.notifications.channels")
    [row] = services.notify([people.alice], "booking.approved", booking=booking)
    services.deliver(row.pk)
    assert "sms to ...0001: Appointment confirmed" in caplog.text
    assert people.alice.phone not in caplog.text


def test_a_failing_outward_channel_does_not_undo_the_push(people, booking, layer, settings, caplog):
    settings.EMAIL_BACKEND = "tests.clinic.notifications.test_deliver.BrokenEmail"
    people.alice.email = "a@example.org"
    people.alice.save()
    [row] = services.notify([people.alice], "booking.rejected", booking=booking)
    received = pushes(layer, people.alice, lambda: services.deliver(row.pk))
    assert [n["id"] for n in received] == [row.pk]
    row.refresh_from_db()
    assert row.delivered_at is not None
    assert "email could not send notification" in caplog.text


def test_a_batch_goes_in_one_event_loop_and_a_failed_push_gives_back_its_row_and_the_rest(
    people, booking, layer, monkeypatch
):
    rows = services.notify([people.alice, people.bob, people.sam], "booking.approved", booking=booking)
    real_send = services._group_send
    calls: list[str] = []

    async def second_fails(group, message):
        calls.append(group)
        if len(calls) == 2:
            raise ConnectionRefusedError("channel layer went away")
        await real_send(group, message)

    monkeypatch.setattr(services, "_group_send", second_fails)
    with pytest.raises(ConnectionRefusedError):
        services.deliver_many([row.pk for row in rows])
    assert len(calls) == 2  # stopped at the failure
    delivered = dict(Notification.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", "delivered_at"))
    assert delivered[rows[0].pk] is not None
    assert delivered[rows[1].pk] is None and delivered[rows[2].pk] is None  # for the sweep
    monkeypatch.setattr(services, "_group_send", real_send)
    assert services.deliver_pending() == 2
    assert services.deliver_many([row.pk for row in rows]) == 0  # each row once


def test_whatever_stops_a_batch_before_its_pushes_gives_every_claimed_row_back(people, booking, layer, monkeypatch):
    rows = services.notify([people.alice, people.bob], "booking.approved", booking=booking)
    real_message = services.push_message

    def second_breaks(notification):
        if notification.pk == rows[1].pk:
            raise ValueError("could not build the message")
        return real_message(notification)

    monkeypatch.setattr(services, "push_message", second_breaks)
    with pytest.raises(ValueError):
        services.deliver_many([row.pk for row in rows])
    assert not Notification.objects.filter(pk__in=[r.pk for r in rows], delivered_at__isnull=False).exists()
    monkeypatch.setattr(services, "push_message", real_message)
    assert services.deliver_pending() == 2


def test_a_commits_rows_and_room_states_go_in_one_call_rows_first(people, booking, layer):
    rows = services.notify([people.alice, people.sam], "booking.completed", booking=booking)
    room = booking.room

    async def scenario() -> tuple[list[dict], list[dict]]:
        mine, board = await layer.new_channel(), await layer.new_channel()
        await layer.group_add(services.group_name(people.alice.pk), mine)
        await layer.group_add(services.ROOM_WATCHERS, board)
        assert await sync_to_async(services.deliver_many)([row.pk for row in rows], rooms=[room.pk, room.pk]) == 2
        heard: tuple[list[dict], list[dict]] = ([], [])
        for channel, into in ((mine, heard[0]), (board, heard[1])):
            while True:
                try:
                    into.append((await asyncio.wait_for(layer.receive(channel), timeout=0.5))["notification"])
                except TimeoutError:
                    break
        return heard

    alice_heard, board_heard = async_to_sync(scenario)()
    assert [n["id"] for n in alice_heard] == [rows[0].pk]
    assert board_heard == [services.room_state_event(room.pk)]  # once, however often it was named
    assert not Notification.objects.filter(pk__in=[r.pk for r in rows], delivered_at__isnull=True).exists()


def test_the_rows_of_a_batch_are_claimed_and_read_in_two_statements_whatever_their_number(
    people, booking, layer, django_assert_num_queries
):
    rows = services.notify([people.alice, people.bob, people.sam, people.rita], "booking.reviewed", booking=booking)
    with django_assert_num_queries(2):  # claim all, read the claimed (not outward: no marks)
        assert services.deliver_many([row.pk for row in rows]) == 4
    with django_assert_num_queries(1):  # nothing left to claim: nothing read
        assert services.deliver_many([row.pk for row in rows]) == 0


def test_a_room_state_that_cannot_be_pushed_keeps_the_rows_pushed_before_it(people, booking, layer, monkeypatch):
    [row] = services.notify([people.alice], "booking.reviewed", booking=booking)
    real_send = services._group_send

    async def board_down(group, message):
        if group == services.ROOM_WATCHERS:
            raise ConnectionRefusedError("channel layer went away")
        await real_send(group, message)

    monkeypatch.setattr(services, "_group_send", board_down)
    with pytest.raises(ConnectionRefusedError):
        services.deliver_many([row.pk], rooms=[booking.room_id])
    row.refresh_from_db()
    assert row.delivered_at is not None  # pushed: not delivered twice by the sweep
    assert services.deliver_pending() == 0


def test_a_give_back_that_fails_too_does_not_hide_what_stopped_the_batch(people, booking, layer, monkeypatch, caplog):
    rows = services.notify([people.alice], "booking.reviewed", booking=booking)

    def broken(notification):
        raise ValueError("could not build the message")

    monkeypatch.setattr(services, "push_message", broken)
    real_filter = Notification.objects.filter

    def filter_then_fail(*args, **kwargs):
        if "delivered_at" in kwargs:  # the give-back's query (the claim asks delivered_at__isnull)
            raise ConnectionResetError("database went away")
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(Notification.objects, "filter", filter_then_fail)
    with pytest.raises(ValueError, match="could not build"):
        services.deliver_many([row.pk for row in rows])
    assert "could not be given back" in caplog.text
