"""Coil mode (boards without the flash command): the OFF that ends the pulse re-takes the
board lock, so it never interleaves with another command to the board, and it is audited.

Transactional (the OFF runs on the adapter's timer thread, with its own database connection),
against the relay simulator over TCP."""

from __future__ import annotations

import time

import pytest

from clinic.audit.models import AuditEvent
from clinic.locking import board_lock
from clinic.rooms.models import RelayModule
from tests import factories as f
from workflows import doors

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_sensitive]


def test_the_off_waits_for_the_board_lock_and_leaves_its_records(db, sim):
    relay = RelayModule.objects.create(host="127.0.0.1", port=sim.port, unit=1, mode="coil")
    room = f.room("Room A", coil=2, relay=relay, pulse_ms=200)
    doors.unlock(room)
    assert sim.coil(2) is True
    # Another command holds the board when the OFF falls due.
    with board_lock("127.0.0.1", sim.port, time.monotonic() + 5):
        time.sleep(0.8)
        assert sim.coil(2) is True
    assert sim.wait_coil(2, False, timeout=3)
    on, off = sim.history
    assert off.monotonic - on.monotonic > 0.7
    for _ in range(50):  # the outcome is written by the timer thread just after the OFF
        if AuditEvent.objects.filter(action="door.relay_off").exists():
            break
        time.sleep(0.05)
    intent = AuditEvent.objects.get(action="door.relay_off_intent")
    done = AuditEvent.objects.get(action="door.relay_off")
    assert done.outcome == "success"
    assert done.data == {
        "intent": intent.pk,
        "relay": "off",
        "target": {"host": "127.0.0.1", "port": sim.port, "unit": 1, "coil": 2},
    }


def test_the_off_is_sent_even_with_the_database_down(db, sim, monkeypatch):
    """A door left energised is unlocked: with no database for its lock or its records, the OFF
    still goes out (no scan can reach the board then anyway)."""
    from contextlib import contextmanager

    from django.db import DatabaseError

    relay = RelayModule.objects.create(host="127.0.0.1", port=sim.port, unit=1, mode="coil")
    room = f.room("Room A", coil=5, relay=relay, pulse_ms=1000)  # the database "goes down" well before the OFF
    doors.unlock(room)
    assert sim.coil(5) is True
    # The OFF's thread: joined at the end, so that its last records are tried before the
    # patches below are undone (a real record then would race the teardown's flush).
    off_thread = doors.lock_adapter()._off_timers[("127.0.0.1", sim.port, 1, 5)]

    def record(*args, **kwargs):
        raise DatabaseError("the database is down")

    @contextmanager
    def board_lock(*args, **kwargs):
        raise DatabaseError("the database is down")
        yield

    monkeypatch.setattr(doors.audit, "record", record)
    monkeypatch.setattr(doors, "board_lock", board_lock)
    assert sim.wait_coil(5, False, timeout=3)
    off_thread.join(timeout=5)
    assert not off_thread.is_alive()
    assert not AuditEvent.objects.filter(action__startswith="door.relay_off").exists()
