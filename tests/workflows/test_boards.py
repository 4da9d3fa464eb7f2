"""The relay boards' health watch (workflows.boards) against the relay simulator over TCP, in
both framings: a board that stops answering is on the room board and told to the room managers
once per outage; when it answers again they are told it is back. Beat's schedule runs it."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from celeryconfig import beat_schedule
from clinic.audit.models import AuditEvent
from clinic.locking import board_lock
from clinic.notifications.models import Notification
from clinic.notifications.services import holders
from clinic.rooms.models import RelayModule
from hardware.relays import LockUnavailable
from hardware.simulator import RelaySimulator
from tests import factories as f
from tests.doubles import FakeLock
from tests.workflows.helpers import hold_deliveries
from workflows import boards, doors
from workflows.tasks import probe_relays

# The board lock is the database's (an advisory lock, or SQLite's IMMEDIATE transaction).
pytestmark = pytest.mark.db_sensitive


@pytest.fixture(autouse=True)
def _held(monkeypatch) -> None:
    hold_deliveries(monkeypatch)


@pytest.fixture(params=["tcp", "rtu_over_tcp"])
def board(request, db):
    with RelaySimulator(framing=request.param, unit=1) as simulator:
        relay = RelayModule.objects.create(host="127.0.0.1", port=simulator.port, unit=1, framing=request.param)
        f.room("Room A", coil=2, relay=relay)
        f.room("Room B", coil=5, relay=relay)
        yield simulator, relay


def told(kind: str) -> list[Notification]:
    return list(Notification.objects.filter(kind=kind).order_by("recipient_id"))


def test_an_answering_board_is_probed_and_nobody_is_told(people, board):
    sim, relay = board
    assert probe_relays() == {"probed": 1, "offline": 0, "back": 0}
    relay.refresh_from_db()
    assert relay.offline_since is None and relay.last_probe_at is not None and relay.last_error == ""
    assert [e for e in sim.history] == []  # a read, never a command
    assert not Notification.objects.filter(kind__startswith="relay.").exists()


def test_an_offline_board_is_told_once_and_its_return_is_noted(people, board, client_for):
    sim, relay = board
    managers = sorted(user.pk for user in holders("bookings.review_room"))
    assert people.rita.pk in managers and people.alice.pk not in managers and people.sam.pk not in managers
    sim.set_frozen(True)
    now = timezone.now()
    assert boards.watch_relays(now) == {"probed": 1, "offline": 1, "back": 0}
    assert boards.watch_relays(now + timedelta(minutes=1)) == {"probed": 1, "offline": 0, "back": 0}
    offline = told("relay.offline")
    assert [n.recipient_id for n in offline] == managers  # once per manager, however many probes
    assert "Room A, Room B" in offline[0].body and f"127.0.0.1:{sim.port}" in offline[0].body
    relay.refresh_from_db()
    assert relay.offline_since == now and "No response received" in relay.last_error
    board_answer = client_for(people.rita).get("/api/rooms/status/").json()
    assert {line["name"]: line["lock"] for line in board_answer} == {"Room A": "offline", "Room B": "offline"}
    assert board_answer[0]["lock_offline_since"] == timezone.localtime(now).isoformat()
    assert client_for(people.sam).get("/api/rooms/").json()[0]["lock"]["offline_since"] is not None

    sim.set_frozen(False)
    assert boards.watch_relays(now + timedelta(minutes=5)) == {"probed": 1, "offline": 0, "back": 1}
    assert boards.watch_relays(now + timedelta(minutes=6)) == {"probed": 1, "offline": 0, "back": 0}
    back = told("relay.back")
    assert [n.recipient_id for n in back] == managers
    assert "5 min" in back[0].body
    relay.refresh_from_db()
    assert relay.offline_since is None and relay.last_error == ""
    assert {line["lock"] for line in client_for(people.rita).get("/api/rooms/status/").json()} == {"ok"}
    assert list(
        AuditEvent.objects.filter(action__startswith="relay.").order_by("pk").values_list("action", flat=True)
    ) == [
        "relay.offline",
        "relay.back",
    ]
    # The next outage is a new one: told again.
    sim.set_frozen(True)
    assert boards.watch_relays(now + timedelta(minutes=10))["offline"] == 1
    assert len(told("relay.offline")) == 2 * len(managers)


def test_a_board_that_is_gone_is_offline_too(people, board):
    sim, relay = board
    sim.stop()
    assert boards.watch_relays()["offline"] == 1
    relay.refresh_from_db()
    assert relay.offline_since is not None and "cannot connect" in relay.last_error


def test_one_missed_answer_is_tried_again_before_anyone_is_woken(people, settings):
    settings.DOOR_LOCK_ADAPTER = "tests.doubles.FakeLock"
    relay = RelayModule.objects.create(host="10.0.0.7", port=502, unit=1)
    f.room("Room A", coil=2, relay=relay)
    lock = doors.lock_adapter()
    assert isinstance(lock, FakeLock)
    lock.fail_with(LockUnavailable, times=1)
    assert boards.watch_relays() == {"probed": 1, "offline": 0, "back": 0}
    assert [call.method for call in lock.calls] == ["read_state", "read_state"]
    assert not Notification.objects.filter(kind="relay.offline").exists()


def test_boards_without_active_rooms_are_not_probed(people, settings):
    settings.DOOR_LOCK_ADAPTER = "tests.doubles.FakeLock"
    RelayModule.objects.create(host="10.0.0.8", port=502, unit=1)
    f.room("Room Z", coil=1, relay=RelayModule.objects.create(host="10.0.0.9", port=502, unit=1), active=False)
    assert boards.watch_relays() == {"probed": 0, "offline": 0, "back": 0}
    assert doors.lock_adapter().calls == []  # type: ignore[attr-defined]


@pytest.mark.django_db(transaction=True)
def test_a_board_busy_with_a_door_command_is_no_evidence(people, settings):
    """While a scan holds the board lock (another connection), the probe leaves the board's
    state alone: neither offline nor back."""
    if connection.vendor != "postgresql":
        pytest.skip("the board lock is an advisory lock on PostgreSQL")
    settings.DOOR_LOCK_ADAPTER = "tests.doubles.FakeLock"
    settings.RELAY_PROBE_DEADLINE_MS = 200
    relay = RelayModule.objects.create(host="10.0.0.9", port=502, unit=1)
    f.room("Room A", coil=2, relay=relay)
    holding, release = threading.Event(), threading.Event()

    def scan_in_progress() -> None:
        try:
            with board_lock(relay.host, relay.port, deadline=time.monotonic() + 5):
                holding.set()
                release.wait(5)
        finally:
            connection.close()

    thread = threading.Thread(target=scan_in_progress)
    thread.start()
    try:
        assert holding.wait(5)
        assert boards.watch_relays() == {"probed": 1, "offline": 0, "back": 0}
    finally:
        release.set()
        thread.join()
    relay.refresh_from_db()
    assert relay.last_probe_at is None and relay.offline_since is None
    assert doors.lock_adapter().calls == []  # type: ignore[attr-defined]


def test_beat_probes_the_boards_every_relay_probe_seconds():
    entry = beat_schedule["relay-probe"]
    assert entry["task"] == "workflows.tasks.probe_relays" == probe_relays.name
    assert entry["schedule"] == 60.0  # RELAY_PROBE_SECONDS's default
