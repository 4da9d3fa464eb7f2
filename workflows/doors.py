"""The door: a scan opens the lock only when person, booking and opening hours all match.

The first scan completes the process's `check_in` task and drives the relay inside the same
transaction, so a relay that does not answer leaves the booking unchanged. The second scan
completes `check_out` without touching the relay (fail-secure locks have free egress).
Every attempt, granted or refused, is audited.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from viewflow.workflow.status import PROCESS

from clinic.accounts.models import User
from clinic.audit import services as audit
from clinic.audit.models import AuditEvent
from clinic.bookings.availability import room_slot
from clinic.bookings.models import Booking, Status
from clinic.errors import Forbidden, Invalid, Unavailable
from clinic.notifications.services import notify_holders
from clinic.rawsql import Columns
from clinic.rooms.models import RelayModule, Room
from hardware.locks import LockAdapter, LockError, LockOutcomeUnknown, ModbusRelayLock, RelayTarget
from workflows import actions
from workflows.models import BookingProcess

log = logging.getLogger(__name__)

lock_adapter: LockAdapter = ModbusRelayLock()


class ScanRefused(Forbidden):
    code = "refused"
    room_pk: int | None = None


class LockUnavailable(Unavailable):
    code = "lock_unavailable"
    default_message = gettext_lazy(
        "The door lock is not answering. Nothing was changed; please try again or call staff."
    )


@dataclass(frozen=True)
class ScanResult:
    action: str  # "unlocked" | "finished"
    booking: Booking


def _target(room: Room, relay: RelayModule) -> RelayTarget:
    return RelayTarget(
        host=relay.host, port=relay.port, unit=relay.unit, coil=room.coil, pulse_ms=room.pulse_ms, mode=relay.mode
    )


# PostgreSQL's SQLSTATE for "lock_timeout expired while waiting for a lock".
_LOCK_NOT_AVAILABLE = "55P03"
# First key of the advisory locks on relay modules (the second is the module's id).
BOARD_LOCK_NAMESPACE = 0x52454C59


@contextmanager
def board_lock(relay_id: int, deadline: float) -> Iterator[None]:
    """Commands to one relay module never interleave, whichever process or host sends them.

    PostgreSQL: a session-level advisory lock on the module (one round trip, see rooms
    migration 0004), held only while the command runs, not until the surrounding transaction
    ends, so scans of other doors on the board are not queued behind this scan's bookkeeping.
    The wait counts against the command's deadline: scans queued behind a board that does not
    answer get their 503 in time, not one deadline per scan ahead of them.
    Other databases (SQLite): an IMMEDIATE transaction serialises every writer.
    """
    if connection.vendor != "postgresql":
        with transaction.atomic():
            yield
        return
    wait_ms = max(1, int((deadline - time.monotonic()) * 1000))
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT rooms_relay_command_lock(%s::int, %s::int, %s::int)", [BOARD_LOCK_NAMESPACE, relay_id, wait_ms]
            )
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        # Nothing was sent: the board is busy with (or stuck on) another door's command.
        raise LockUnavailable() from exc
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s::int, %s::int)", [BOARD_LOCK_NAMESPACE, relay_id])
        except DatabaseError:
            log.exception("releasing the lock on relay module %s failed; closing the connection", relay_id)
            # A closed session holds no locks. Close the PostgreSQL connection itself: Django's
            # close() would hand a pooled connection back to the pool, lock and all.
            if connection.connection is not None:
                connection.connection.close()
            connection.close()


def unlock(room: Room) -> None:
    """Pulse the room's lock relay (room.relay loaded). One deadline covers the wait for the
    board and the command; anything short of a confirmed pulse is LockUnavailable."""
    relay = room.relay
    if relay is None:
        raise LockUnavailable(_("This door has no lock configured; please call staff."))
    deadline = time.monotonic() + settings.DOOR_COMMAND_DEADLINE_MS / 1000
    with board_lock(relay.pk, deadline):
        try:
            lock_adapter.unlock(_target(room, relay), deadline_s=max(deadline - time.monotonic(), 0.001))
        except LockOutcomeUnknown as exc:
            raise LockUnavailable(
                _("The door lock did not confirm the command. Please try again or call staff."),
                code="lock_unavailable",
            ) from exc
        except (LockError, ValueError) as exc:
            raise LockUnavailable() from exc


def _refuse(code: str, message: str, room_pk: int | None = None) -> ScanRefused:
    refusal = ScanRefused(message, code=code)
    refusal.room_pk = room_pk
    return refusal


_BOOKING = Columns(Booking, "b", ["id", "donor_id", "room_id", "start", "end", "status"])
_ROOM = Columns(Room, "r", ["id", "name", "active", "relay_id", "coil", "pulse_ms"])
_RELAY = Columns(RelayModule, "m", ["id", "host", "port", "unit", "mode"])


@functools.cache
def _door_booking_sql(vendor: str) -> str:
    # Identifiers come from the models' metadata, quoted; every value is a parameter.
    quote = connection.ops.quote_name
    process = quote(BookingProcess._meta.db_table)
    base = quote(BookingProcess._meta.pk.remote_field.model._meta.db_table)
    return " ".join(
        [
            f"SELECT {_BOOKING.sql()}, {_ROOM.sql()}, {_RELAY.sql()},",
            f"(SELECT MAX(p.process_ptr_id) FROM {process} p JOIN {base} v ON v.id = p.process_ptr_id",  # noqa: S608
            " WHERE p.booking_id = b.id AND v.status = %s)",
            f"FROM {_BOOKING.table()} JOIN {_ROOM.table()} ON r.id = b.room_id",
            f"LEFT JOIN {_RELAY.table()} ON m.id = r.relay_id",
            "WHERE b.donor_id = %s AND r.door_token = %s AND b.status IN (%s, %s)",
        ]
    )


def _choose_booking(user: User, door: str) -> tuple[Booking, int | None]:
    """The person's booking behind this door (in progress: the second scan; approved: the
    first) with its room, the room's relay module and the booking's open process.

    A donor has at most one active booking, so this is one row at most. It is the one query
    between the request and the locks, written as SQL (see clinic.rawsql); a refusal takes a
    few more ORM queries to say why."""
    with connection.cursor() as cursor:
        params = [PROCESS.NEW, user.pk, door, Status.IN_PROGRESS.value, Status.APPROVED.value]
        cursor.execute(_door_booking_sql(connection.vendor), params)
        row = cursor.fetchone()
    if row is not None:
        ends = (len(_BOOKING), len(_BOOKING) + len(_ROOM), len(_BOOKING) + len(_ROOM) + len(_RELAY))
        booking = _BOOKING.instance(row[: ends[0]])
        room = _ROOM.instance(row[ends[0] : ends[1]])
        room.relay = _RELAY.instance(row[ends[1] : ends[2]]) if room.relay_id is not None else None
        booking.room = room
        return booking, row[ends[2]]
    room_pk = Room.objects.filter(door_token=door).values_list("pk", flat=True).first()
    if room_pk is None:
        raise _refuse("bad_door", _("This door code is not valid. Please scan the code on the door again."))
    if Booking.objects.filter(donor=user, room=room_pk, status=Status.PENDING).exists():
        raise _refuse("not_approved", _("Your booking for this room has not been approved yet."), room_pk)
    raise _refuse(
        "no_booking", _("You have no booking for this room. Please check the room name on your booking."), room_pk
    )


def _check_window(booking: Booking, now: datetime) -> None:
    early = timedelta(minutes=settings.EARLY_CHECK_IN_MINUTES)
    grace = timedelta(minutes=settings.CHECK_IN_GRACE_MINUTES)
    if now < booking.start - early:
        opens = timezone.localtime(booking.start - early)
        raise _refuse(
            "too_early",
            _("It is too early. You can open this door from %(time)s on %(date)s.")
            % {"time": f"{opens:%H:%M}", "date": f"{opens:%Y-%m-%d}"},
        )
    if now > booking.start + grace:
        raise _refuse("too_late", _("The time to enter for this booking has passed. Please book a new slot."))
    if not booking.room.active or room_slot(booking.room, booking.start) is None:
        raise _refuse("room_closed", _("This room is closed now. Please contact staff."))


def scan(*, user: User, door: str, now: datetime | None = None) -> ScanResult:
    """A logged-in person scanned a door's QR code."""
    if not isinstance(door, str) or not door or len(door) > 64:
        raise Invalid(
            _("Give the door code from the QR code."), code="invalid", fields={"door": [_("Invalid door code.")]}
        )
    room: Room | None = None
    try:
        booking, process_pk = _choose_booking(user, door)
        room = booking.room
        if booking.status == Status.IN_PROGRESS:
            booking = actions.check_out(booking=booking, actor=user, process_pk=process_pk)
            result = ScanResult("finished", booking)
        else:
            _check_window(booking, now or timezone.now())
            booking = actions.check_in(booking=booking, actor=user, process_pk=process_pk, before=lambda: unlock(room))
            result = ScanResult("unlocked", booking)
    except ScanRefused as exc:
        audit.record(
            "door.scan",
            actor=user,
            object_type="rooms.room",
            object_id=room.pk if room else exc.room_pk or "",
            outcome=AuditEvent.Outcome.REFUSED,
            reason=exc.code,
        )
        raise
    except LockUnavailable as exc:
        audit.record(
            "door.scan",
            actor=user,
            obj=room,
            outcome=AuditEvent.Outcome.FAILED,
            reason=f"lock_unavailable: {exc.__cause__ or exc.message}"[:255],
        )
        raise
    audit.record("door.scan", actor=user, obj=room, data={"action": result.action, "booking": result.booking.pk})
    return result


def open_manually(*, room: Room, actor: User, reason: str) -> None:
    """Staff open a door by hand (with a reason); audited whether or not the lock answers."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Give a reason for opening the door."), fields={"reason": [_("This field is required.")]})
    try:
        unlock(room)
    except LockUnavailable as exc:
        audit.record(
            "door.manual_open",
            actor=actor,
            obj=room,
            outcome=AuditEvent.Outcome.FAILED,
            reason=reason,
            data={"error": str(exc.__cause__ or exc.message)[:200]},
        )
        raise
    audit.record("door.manual_open", actor=actor, obj=room, reason=reason)


def watch_doors(now: datetime | None = None) -> list[int]:
    """Read each door sensor; a door held open past DOOR_HELD_OPEN_SECONDS is alerted once."""
    now = now or timezone.now()
    alerted = []
    rooms = Room.objects.filter(active=True, relay__isnull=False, door_sensor_input__isnull=False).select_related(
        "relay"
    )
    for room in rooms:
        try:
            is_open = lock_adapter.door_open(_target(room, room.relay), room.door_sensor_input, deadline_s=1.0)
        except (LockError, ValueError):
            continue  # a board that does not answer is seen by the scan path; try again next sweep
        if not is_open:
            Room.objects.filter(pk=room.pk).exclude(door_open_since=None).update(
                door_open_since=None, door_alerted_at=None
            )
            continue
        Room.objects.filter(pk=room.pk, door_open_since=None).update(door_open_since=now)
        room.refresh_from_db(fields=["door_open_since", "door_alerted_at"])
        held = now - room.door_open_since
        if held >= timedelta(seconds=settings.DOOR_HELD_OPEN_SECONDS) and room.door_alerted_at is None:
            if Room.objects.filter(pk=room.pk, door_alerted_at=None).update(door_alerted_at=now):
                audit.record("door.held_open", obj=room, reason=f"open for {int(held.total_seconds())} s")
                notify_holders(
                    "bookings.review_room",
                    "door.held_open",
                    context={"room": room.name, "minutes": int(held.total_seconds() // 60)},
                )
                alerted.append(room.pk)
    return alerted
