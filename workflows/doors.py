"""The door: a scan opens the lock only when person, booking and opening hours all match.

The first scan completes the process's `check_in` task and drives the relay inside the same
transaction, so a relay that does not answer leaves the booking unchanged. The second scan
completes `check_out` without touching the relay (fail-secure locks have free egress).
Every attempt, granted or refused, is audited.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.accounts.models import User
from clinic.audit import services as audit
from clinic.audit.models import AuditEvent
from clinic.bookings.availability import room_slot
from clinic.bookings.models import Booking, Status
from clinic.errors import Forbidden, Invalid, Unavailable
from clinic.notifications.services import notify_holders
from clinic.rooms.models import RelayModule, Room
from hardware.locks import LockAdapter, LockError, LockOutcomeUnknown, ModbusRelayLock, RelayTarget
from workflows import actions

lock_adapter: LockAdapter = ModbusRelayLock()


class ScanRefused(Forbidden):
    code = "refused"


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


def _lock_relay(relay_id: int, deadline: float) -> RelayModule:
    """Lock the relay module's row. On PostgreSQL the wait counts against the command's deadline
    (lock_timeout lowered for this one statement), so scans queued behind a board that does not
    answer still get their 503 within the deadline instead of one deadline per scan ahead."""
    if connection.vendor != "postgresql":
        return RelayModule.objects.select_for_update().get(pk=relay_id)
    wait_ms = max(1, int((deadline - time.monotonic()) * 1000))
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        (previous,) = cursor.fetchone()
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{wait_ms}ms"])
        relay = RelayModule.objects.select_for_update().get(pk=relay_id)
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
    return relay


def unlock(room: Room) -> None:
    """Pulse the room's lock relay. The relay module's row stays locked while the command runs, so
    commands to one board never interleave, whichever process or host sends them. One deadline
    covers the wait for that lock and the command."""
    if room.relay_id is None:
        raise LockUnavailable(_("This door has no lock configured; please call staff."))
    deadline = time.monotonic() + settings.DOOR_COMMAND_DEADLINE_MS / 1000
    try:
        with transaction.atomic():
            relay = _lock_relay(room.relay_id, deadline)
            try:
                lock_adapter.unlock(_target(room, relay), deadline_s=max(deadline - time.monotonic(), 0.001))
            except LockOutcomeUnknown as exc:
                raise LockUnavailable(
                    _("The door lock did not confirm the command. Please try again or call staff."),
                    code="lock_unavailable",
                ) from exc
            except (LockError, ValueError) as exc:
                raise LockUnavailable() from exc
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        # Nothing was sent: the board is busy with (or stuck on) another door's command.
        raise LockUnavailable() from exc


def _refuse(code: str, message: str) -> ScanRefused:
    return ScanRefused(message, code=code)


def _choose_booking(user: User, room: Room) -> Booking:
    mine = Booking.objects.filter(donor=user, room=room).select_related("room")
    in_progress = mine.filter(status=Status.IN_PROGRESS).first()
    if in_progress:
        return in_progress
    approved = mine.filter(status=Status.APPROVED).order_by("start").first()
    if approved:
        return approved
    if mine.filter(status=Status.PENDING).exists():
        raise _refuse("not_approved", _("Your booking for this room has not been approved yet."))
    raise _refuse("no_booking", _("You have no booking for this room. Please check the room name on your booking."))


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
    room = Room.objects.select_related("relay").filter(door_token=door).first()
    try:
        if room is None:
            raise _refuse("bad_door", _("This door code is not valid. Please scan the code on the door again."))
        booking = _choose_booking(user, room)
        if booking.status == Status.IN_PROGRESS:
            booking = actions.check_out(booking=booking, actor=user)
            result = ScanResult("finished", booking)
        else:
            _check_window(booking, now or timezone.now())
            booking = actions.check_in(booking=booking, actor=user, before=lambda: unlock(room))
            result = ScanResult("unlocked", booking)
    except ScanRefused as exc:
        audit.record(
            "door.scan",
            actor=user,
            object_type="rooms.room",
            object_id=room.pk if room else "",
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
