"""The relay module offline or frozen at a door scan: a clear 503 within 2 s, the booking and its
process unchanged, the attempt audited, and no door opening later. A frozen board is a real
`python -m hardware.simulator` process stopped with SIGSTOP: its kernel still accepts the TCP
connection and buffers what is sent, so whatever reached the socket runs when it is resumed."""

from __future__ import annotations

import os
import signal
import time

import pytest
from viewflow.workflow.status import STATUS

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from clinic.rooms.models import RelayModule
from tests import factories as f
from tests.doors.helpers import approved_booking, current_slot, open_all_day
from tests.hardware.helpers import SimProcess, freeze
from tests.realtime.support import free_port
from tests.workflows.helpers import open_tasks

COIL = 2


@pytest.fixture
def board(tmp_path):
    process = SimProcess(tmp_path / "board.log")
    yield process
    process.stop()  # resumes a stopped board first


def approved_now(people, port: int) -> Booking:
    """Alice's booking of a room on the board at `port`, reviewed and approved, for the slot
    running now (5-minute slots all day; in the day's last slot, tomorrow's first)."""
    relay = RelayModule.objects.create(host="127.0.0.1", port=port, unit=1)
    room = f.room("Room A", coil=COIL, relay=relay, pulse_ms=1000)
    open_all_day(room)
    return approved_booking(people, room, current_slot())


def scan(client, booking) -> tuple[int, dict, float]:
    began = time.monotonic()
    response = client.post("/api/scan/", {"door": booking.room.door_token}, format="json")
    return response.status_code, response.json(), time.monotonic() - began


def assert_unchanged(booking) -> None:
    booking.refresh_from_db()
    assert booking.status == "approved" and booking.checked_in_at is None
    assert [t.flow_task.name for t in open_tasks(booking)] == ["check_in"]
    assert open_tasks(booking).get().status == STATUS.NEW


def relay_lines(board: SimProcess) -> list[str]:
    return [line for line in board.lines() if f"relay={COIL} " in line]


def test_an_offline_relay_module_is_a_503_at_once(db, people, client_for):
    booking = approved_now(people, free_port())  # nothing listens there
    status, body, took = scan(client_for(people.alice), booking)
    assert (status, body["code"]) == (503, "lock_unavailable"), body
    assert took < 1.0, f"the scan took {took:.2f} s"
    assert_unchanged(booking)
    [event] = AuditEvent.objects.filter(action="door.scan", actor=people.alice)
    assert event.outcome == "failed" and event.reason.startswith("lock_unavailable")


def test_a_frozen_relay_module_is_a_503_within_2_s_and_never_opens_the_door_later(db, people, client_for, board):
    booking = approved_now(people, board.port)
    alice = client_for(people.alice)
    # A warm process, as a server is: the first request of a test process pays for imports.
    assert alice.post("/api/scan/", {"door": "no-such-door"}, format="json").status_code == 403
    freeze(board.proc.pid)
    try:
        status, body, took = scan(alice, booking)
    finally:
        os.kill(board.proc.pid, signal.SIGCONT)
    assert (status, body["code"]) == (503, "lock_unavailable"), body
    assert took < 2.0, f"the scan took {took:.2f} s"
    assert_unchanged(booking)
    [event] = AuditEvent.objects.filter(action="door.scan", actor=people.alice, outcome="failed")
    assert event.object_id == str(booking.room_id)

    # The resumed board works through whatever its socket buffered: no relay may move.
    time.sleep(2.0)
    assert relay_lines(board) == [], "the door opened after the scan had been answered 503"
    assert_unchanged(booking)

    # The donor scans again: now, and only now, the door opens (once).
    status, body, _ = scan(alice, booking)
    assert (status, body["action"]) == (200, "unlocked"), body
    ons = [line for line in relay_lines(board) if " ON " in line]
    assert len(ons) == 1 and "cmd=flash" in ons[0], relay_lines(board)
