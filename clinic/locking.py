"""Every lock of the platform: what it guards, how it is held, its timeout, and the order.

- donor row lock (`donor_lock`): a donor's check-then-insert booking rules (one active booking,
  the abstinence interval). SELECT … FOR UPDATE on his user row until the transaction ends.
- arrival-gap lock (`arrival_gap_lock`): no two arrivals closer than ARRIVAL_GAP_MINUTES across
  rooms. A transaction-level advisory lock on PostgreSQL, taken only while the rule is on.
- waitlist lock (`waitlist_lock`): a slot is either booked or held for one waiting client, never
  both: a booking's (or move's) check of others' holds and an offer's check of free slots on
  the same day run one at a time. Transaction-level advisory locks on PostgreSQL, one per local
  day (bookings of different days do not wait for each other), under a list-wide one: held
  shared by those day-scoped callers, exclusively by the rare ones that touch any day (holds
  given back, the sweep's lapsing offers).
- process lock (`PROCESS_LOCK`, BookingFlow's `lock_impl`; workflows.process.process_lock):
  every state change of one booking. SELECT … FOR UPDATE on the process row, once per change
  (a door step runs its Handle's activation under the lock it took: workflows.sessions); a wait
  that runs out is 409 `busy`.
- room lock (`room_lock`): first scans of one room, so that it has one occupant at a time.
  SELECT … FOR UPDATE on the room row until the transaction ends; runs out → 409 `busy`.
- board lock (`board_lock`): commands to one relay board (host, port) never interleave (the
  unlock, and the coil-mode OFF, which takes it again). A session advisory lock (rooms migration
  0004) held for the command only, not until the scan commits; its wait counts against the
  command's deadline (DOOR_COMMAND_DEADLINE_MS) → 503 `lock_unavailable`.
- login lock (`login_counter`): the attempt counts of one account (its row for all addresses,
  then the one for the client's address). SELECT … FOR UPDATE on the LoginThrottle rows, in that
  order, for the count only: the password is checked after the transaction.

Timeouts: every wait but the board lock's is bounded by PostgreSQL's `lock_timeout` (settings:
DATABASE_LOCK_TIMEOUT_MS, default 10 s), SQLSTATE 55P03 (LOCK_NOT_AVAILABLE) when it runs out;
unless said otherwise above, that is a 503.

Order: process → donor → arrival gap → waitlist (a booking requested or moved; a closure's
cancellations, then its holds given back; an offer takes the waitlist lock alone); process → room
→ board (the door); room → waitlist (a room taken out of service gives back its holds); donor →
waitlist (a donor suspended leaves every line). A holder never takes a lock earlier in
its chain; the login lock is taken alone.

SQLite runs every transaction as IMMEDIATE: a transaction holds the database's single write lock
from its start (busy timeout 20 s, settings), so each of these locks is that write lock there.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection, transaction
from django.utils.translation import gettext_lazy
from viewflow.workflow.lock import SelectForUpdateLock

from clinic.accounts.models import LoginThrottle, User
from clinic.errors import Conflict, Unavailable
from clinic.rooms.models import Room

log = logging.getLogger(__name__)

# PostgreSQL's SQLSTATE for "lock_timeout expired while waiting for a lock".
LOCK_NOT_AVAILABLE = "55P03"
# First key of the advisory locks on relay boards (the second is a hash of host and port).
BOARD_LOCK_NAMESPACE = 0x52454C59
# The arrival-gap lock's advisory key, and the waitlist lock's.
ARRIVAL_GAP_LOCK_KEY = 0x5B00C1
WAITLIST_LOCK_KEY = 0x5B00C2

# The process lock: BookingFlow's `lock_impl`. It waits for the row lock rather than failing
# fast (a staff approval and a room rejection arriving together are both applied, one after the
# other); lock_timeout bounds the wait.
PROCESS_LOCK = SelectForUpdateLock(nowait=False, attempts=1)


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


def _in_transaction(name: str) -> None:
    if not connection.in_atomic_block:
        raise RuntimeError(f"{name}() is held until the transaction ends: call it inside one")


def donor_lock(donor_id: int) -> None:
    """Lock the donor's row until the transaction ends: his booking rules are check-then-insert,
    so one writer per donor at a time."""
    _in_transaction("donor_lock")
    list(User.objects.select_for_update().filter(pk=donor_id).order_by().values_list("pk", flat=True))


def arrival_gap_lock() -> None:
    """Serialise the cross-room arrival-gap check until the transaction ends (only when the gap
    rule is on; taken after the donor lock)."""
    _in_transaction("arrival_gap_lock")
    if settings.ARRIVAL_GAP_MINUTES and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ARRIVAL_GAP_LOCK_KEY])


def waitlist_lock(days: Iterable[date] | None = None) -> None:
    """Serialise bookings against waitlist offers until the transaction ends (taken after the
    arrival-gap lock). `days`: the local days whose slots and holds the caller reads or writes;
    those days only, each day's lock in date order, under the list-wide lock held shared. None:
    the whole list (the list-wide lock held exclusively: it waits for, and holds off, every day).
    One round trip: PostgreSQL evaluates the select list in order."""
    _in_transaction("waitlist_lock")
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if days is None:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [WAITLIST_LOCK_KEY])
            return
        ordinals = sorted({day.toordinal() for day in days})
        each_day = "".join(", pg_advisory_xact_lock(%s, %s)" for _ in ordinals)
        params = [WAITLIST_LOCK_KEY, *(value for ordinal in ordinals for value in (WAITLIST_LOCK_KEY, ordinal))]
        cursor.execute(f"SELECT pg_advisory_xact_lock_shared(%s){each_day}", params)


def login_counter(key: str, address: str) -> LoginThrottle:
    """The login attempts of one account from one address (or LoginThrottle.ACCOUNT: from
    all), created if need be and locked until the transaction ends."""
    _in_transaction("login_counter")
    row, _ = LoginThrottle.objects.select_for_update().get_or_create(username=key, address=address)
    return row


def room_lock(room_id: int) -> None:
    """Lock the room's row until the surrounding transaction ends (taken after the process lock).

    First scans of one room take it before they look at who holds the room, so of two donors
    scanning at the same instant the second sees the first's session once it is committed."""
    _in_transaction("room_lock")
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
