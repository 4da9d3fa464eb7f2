"""Redis down or frozen never holds a booking up: the transaction commits, publishing gives up
within about a second, the notification rows stay undelivered for the sweep."""

from __future__ import annotations

import socket
import threading
import time
from types import SimpleNamespace

import pytest

from clinic.bookings.models import Booking
from clinic.notifications.models import Notification
from tests import factories as f
from tests.realtime.support import celery_broker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def frozen_broker():
    """A TCP server that accepts connections and never answers (a hung Redis)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(url=f"redis://127.0.0.1:{server.getsockname()[1]}/0", accepted=accepted)
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in accepted:
            conn.close()
        server.close()


@pytest.fixture
def room(db):
    room = f.room("Room A")
    f.weekly_opening(room)
    return room


def book(client, room) -> tuple[int, dict, float]:
    began = time.monotonic()
    response = client.post(
        "/api/bookings/", {"room": room.pk, "start": f.at(f.tomorrow(), "09:00").isoformat()}, format="json"
    )
    return response.status_code, response.json(), time.monotonic() - began


@pytest.mark.parametrize("broker", ["dead", "frozen"])
def test_a_booking_commits_fast_whatever_the_broker(people, room, client_for, frozen_broker, broker, caplog):
    url = "redis://127.0.0.1:1/0" if broker == "dead" else frozen_broker.url
    client = client_for(people.alice)
    assert client.post("/api/bookings/", {}, format="json").status_code == 400  # warm up this process
    with celery_broker(url):
        status, body, took = book(client, room)
    assert status == 201, body
    assert took < 1.5, f"the booking took {took:.2f} s with a {broker} broker"
    assert Booking.objects.filter(pk=body["id"], status="pending").exists()
    rows = Notification.objects.filter(booking_id=body["id"])
    assert sorted(rows.values_list("kind", "recipient__username")) == [
        ("booking.requested", "sam"),
        ("room.requested", "rita"),
    ]
    assert not rows.filter(delivered_at__isnull=False).exists()
    assert "broker unavailable" in caplog.text
    print(f"{broker} broker: booking answered in {took * 1000:.0f} ms")


def test_during_an_outage_only_the_first_request_waits_for_the_broker(people, room, client_for, frozen_broker, caplog):
    second_room = f.room("Room B", coil=1)
    f.weekly_opening(second_room)
    with celery_broker(frozen_broker.url):
        first = book(client_for(people.alice), room)
        tried = len(frozen_broker.accepted)
        second = book(client_for(people.bob), second_room)
    assert (first[0], second[0]) == (201, 201)
    assert tried >= 1
    assert len(frozen_broker.accepted) == tried, "the second booking tried the frozen broker again"
    assert second[2] < 1.0, f"the second booking took {second[2]:.2f} s"
    assert Notification.objects.filter(delivered_at__isnull=True).count() == 4
    assert "broker recently unavailable" in caplog.text
