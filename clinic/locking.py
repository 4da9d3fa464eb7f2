"""The locks that serialise the door, and the order they are taken in.

| lock         | guards                                            | where                                  |
|--------------|---------------------------------------------------|----------------------------------------|
| process lock | every state change of one booking                  | Viewflow `lock_impl` (workflows.flows) |
| room lock    | first scans of one room: one occupant at a time    | `room_lock` below                      |
| board lock   | commands to one relay board never interleave       | `board_lock` below                     |

Order: process → room → board; a holder never takes an earlier one. PostgreSQL's `lock_timeout`
(settings, DATABASE_LOCK_TIMEOUT_MS) bounds every row-lock wait. SQLite runs each transaction as
IMMEDIATE, so a transaction already holds the database's single write lock: the row locks are
no-ops there and the board lock is that write lock.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, OperationalError, connection, transaction
from django.utils.translation import gettext_lazy

from clinic.errors import Conflict, Unavailable
from clinic.rooms.models import Room

log = logging.getLogger(__name__)

# PostgreSQL's SQLSTATE for "lock_timeout expired while waiting for a lock".
LOCK_NOT_AVAILABLE = "55P03"
# First key of the advisory locks on relay boards (the second is a hash of host and port).
BOARD_LOCK_NAMESPACE = 0x52454C59


class RoomBusy(Conflict):
    code = "busy"
    default_message = gettext_lazy("Someone else is using this door right now; please try again.")


class BoardBusy(Unavailable):
    code = "lock_unavailable"
    default_message = gettext_lazy(
        "The door lock is not answering. Nothing was changed; please try again or call staff."
    )


def _timed_out(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE


def room_lock(room_id: int) -> None:
    """Lock the room's row until the surrounding transaction ends (taken after the process lock).

    First scans of one room take it before they look at who holds the room, so of two donors
    scanning at the same instant the second sees the first's session once it is committed."""
    if not connection.in_atomic_block:
        raise RuntimeError("room_lock() is held until the transaction ends: call it inside one")
    try:
        list(Room.objects.select_for_update().filter(pk=room_id).order_by().values_list("pk", flat=True))
    except OperationalError as exc:
        if not _timed_out(exc):
            raise
        raise RoomBusy() from exc


def board_key(host: str, port: int) -> int:
    """The board's advisory-lock key: a signed 32-bit hash of host and port. Two boards that
    happened to share a key would only wait for each other, never interleave."""
    return zlib.crc32(f"{host.lower()}:{port}".encode()) - 2**31


@contextmanager
def board_lock(host: str, port: int, deadline: float) -> Iterator[None]:
    """Commands to one relay board (host, port) never interleave, whichever process, thread or
    host sends them: several units or relay modules behind one address share one board lock.

    PostgreSQL: a session-level advisory lock (one round trip, see rooms migration 0004), held
    only while the command runs, not until the surrounding transaction ends, so scans of other
    doors on the board are not queued behind this scan's bookkeeping. The wait counts against
    the command's deadline (`time.monotonic()` based): commands queued behind a board that does
    not answer get their 503 in time, not one deadline per command ahead of them.
    Other databases (SQLite): an IMMEDIATE transaction serialises every writer.
    """
    if connection.vendor != "postgresql":
        with transaction.atomic():
            yield
        return
    key = board_key(host, port)
    wait_ms = max(1, int((deadline - time.monotonic()) * 1000))
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT rooms_relay_command_lock(%s::int, %s::int, %s::int)", [BOARD_LOCK_NAMESPACE, key, wait_ms]
            )
    except OperationalError as exc:
        if not _timed_out(exc):
            raise
        # Nothing was sent: the board is busy with (or stuck on) another door's command.
        raise BoardBusy() from exc
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s::int, %s::int)", [BOARD_LOCK_NAMESPACE, key])
        except DatabaseError:
            log.exception("releasing the lock on relay board %s:%s failed; closing the connection", host, port)
            # A closed session holds no locks. Close the PostgreSQL connection itself: Django's
            # close() would hand a pooled connection back to the pool, lock and all.
            if connection.connection is not None:
                connection.connection.close()
            connection.close()
