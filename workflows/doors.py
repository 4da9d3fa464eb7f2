"""The door: a scan opens the lock only when person, booking, opening hours and the room's
occupancy all match (the rules: clinic.bookings.occupancy).

The first scan completes the process's `check_in` task and drives the relay inside the same
transaction (process lock, then room lock, then board lock), so a relay that does not answer
leaves the booking unchanged. The occupant's repeat scan within DOOR_REPEAT_SECONDS opens the
door again; a later scan, or the door page's Finish, completes `check_out` without touching the
relay (fail-secure locks have free egress). Every attempt is audited, and every relay command
leaves a record that survives a rollback: its intent is committed before the transaction that
acts on it, its outcome added after.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError, connection, transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from viewflow.workflow.status import PROCESS

from clinic.accounts.models import User
from clinic.audit import services as audit
from clinic.audit.models import AuditEvent
from clinic.bookings import occupancy
from clinic.bookings.models import Booking, Status
from clinic.bookings.occupancy import DoorRefused
from clinic.errors import Conflict, DomainError, Invalid, Unavailable
from clinic.locking import BoardBusy, board_lock, room_lock
from clinic.notifications.services import notify_holders
from clinic.rawsql import Columns
from clinic.rooms.models import RelayModule, Room
from hardware.relays import LockAdapter, LockError, LockOutcomeUnknown, RelayTarget
from workflows import sessions
from workflows.models import BookingProcess

log = logging.getLogger(__name__)

ACTIONS = ("finish", "open")
# How long after his finish a donor's scan is told when his session ended (not "no booking").
FINISHED_MEMORY = timedelta(hours=12)


class DoorNotOpened(Unavailable):
    """The answer to the person at the door when the lock did not open (the API's 503)."""

    code = "lock_unavailable"
    default_message = BoardBusy.default_message  # to the person at the door, the same thing


class NoLock(Conflict):
    """Not an outage: nobody configured a lock for this door."""

    code = "no_lock"
    default_message = gettext_lazy("This door has no electronic lock configured. Please call staff.")


class RoomInUse(Conflict):
    code = "room_in_use"
    default_message = gettext_lazy(
        "A session is in progress in this room. Open it only if you must, with force and a reason."
    )


@dataclass(frozen=True)
class ScanResult:
    action: str  # "unlocked" | "finished"
    booking: Booking
    # Until when a scan opens the door again instead of finishing (after an unlock).
    repeat_until: datetime | None = None


@dataclass
class RelayCommand:
    """What became of one relay command, for its audit records."""

    intent: AuditEvent | None = None
    relay: str = "not_sent"  # "pulsed" | "not_sent" | "unknown"
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def outcome(self) -> dict[str, Any]:
        data = {"relay": self.relay, **self.extra}
        if self.intent is not None:
            data["intent"] = self.intent.pk
        if self.error:
            data["error"] = self.error[:200]
        return data


def relay_target(room: Room, relay: RelayModule) -> RelayTarget:
    """What the lock adapter needs to reach the room's relay."""
    return RelayTarget(
        host=relay.host,
        port=relay.port,
        unit=relay.unit,
        coil=room.coil,
        pulse_ms=room.pulse_ms,
        mode=relay.mode,
        framing=relay.framing,
    )


def _intent(action: str, *, actor: User | None, room: Room, **data: Any) -> AuditEvent:
    """The record of a relay command about to be sent, written before the transaction that
    sends it (committed at once outside a transaction), so that it survives that transaction's
    rollback: a door that opened is never without a trace."""
    relay = room.relay
    target = {"host": relay.host, "port": relay.port, "unit": relay.unit, "coil": room.coil} if relay else {}
    return audit.record(action, actor=actor, obj=room, data={**data, "target": target})


def unlock(room: Room, command: RelayCommand | None = None) -> None:
    """Pulse the room's lock relay (room.relay loaded). One deadline covers the wait for the
    board and the command; anything short of a confirmed pulse is DoorNotOpened. `command`
    records what the relay did, for the audit."""
    command = command if command is not None else RelayCommand()
    relay = room.relay
    if relay is None:
        raise NoLock()
    deadline = time.monotonic() + settings.DOOR_COMMAND_DEADLINE_MS / 1000
    with board_lock(relay.host, relay.port, deadline):
        try:
            lock_adapter().unlock(relay_target(room, relay), deadline_s=max(deadline - time.monotonic(), 0.001))
        except LockOutcomeUnknown as exc:
            command.relay, command.error = "unknown", str(exc)
            raise DoorNotOpened(
                _("The door lock did not confirm the command. Please try again or call staff."),
                code="lock_unavailable",
            ) from exc
        except (LockError, ValueError) as exc:
            command.error = str(exc)
            raise DoorNotOpened() from exc
    command.relay = "pulsed"


@contextmanager
def _guard_own_command(target: RelayTarget, deadline: float) -> Iterator[None]:
    """Around a command the lock adapter sends on its own (the coil-mode OFF, from its timer
    thread): the board lock, and the command's intent and outcome in the audit trail.

    The OFF matters more than its bookkeeping: a door left energised is unlocked. With the
    database down it is sent anyway, unlocked and unrecorded (no scan can reach the board then)."""
    where = {"host": target.host, "port": target.port, "unit": target.unit, "coil": target.coil}
    outcome: dict[str, Any] = {"relay": "not_sent", "target": where}
    try:
        try:
            outcome["intent"] = audit.record("door.relay_off_intent", data={"target": where}).pk
        except DatabaseError:
            log.exception("coil-mode OFF to %s: intent not recorded; sending it anyway", where)
        with ExitStack() as stack:
            try:
                stack.enter_context(board_lock(target.host, target.port, deadline))
            except DatabaseError:
                log.exception("coil-mode OFF to %s: no board lock (database down); sending it anyway", where)
            outcome["relay"] = "unknown"
            try:
                yield
            except BaseException as exc:
                outcome["error"] = str(exc)[:200]
                _record_off(AuditEvent.Outcome.FAILED, outcome)
                raise
            outcome["relay"] = "off"
        _record_off(AuditEvent.Outcome.SUCCESS, outcome)
    finally:
        # This runs on the adapter's timer thread: hand its connection back.
        connection.close()


def _record_off(result: str, data: dict[str, Any]) -> None:
    try:
        audit.record("door.relay_off", outcome=result, data=data)
    except DatabaseError:
        log.exception("coil-mode OFF: outcome %s not recorded: %s", result, data)


_adapters: dict[str, LockAdapter] = {}
_adapters_lock = threading.Lock()


def lock_adapter() -> LockAdapter:
    """The door lock named by settings.DOOR_LOCK_ADAPTER: one instance per setting value, built
    on first use (its coil-mode OFF timers must outlive a request), with `_guard_own_command`."""
    path = settings.DOOR_LOCK_ADAPTER
    adapter = _adapters.get(path)
    if adapter is None:
        with _adapters_lock:
            adapter = _adapters.get(path)
            if adapter is None:
                adapter = _adapters[path] = import_string(path)(command_guard=_guard_own_command)
    return adapter


@receiver(setting_changed)
def _forget_lock_adapter(*, setting: str, **kwargs: Any) -> None:
    if setting == "DOOR_LOCK_ADAPTER":
        with _adapters_lock:
            _adapters.clear()


_BOOKING = Columns(Booking, "b", ["id", "donor_id", "room_id", "start", "end", "status", "checked_in_at"])
_ROOM = Columns(Room, "r", ["id", "name", "active", "relay_id", "coil", "pulse_ms"])
_RELAY = Columns(RelayModule, "m", ["id", "host", "port", "unit", "mode", "framing"])


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


def _choose_booking(user: User, door: str, now: datetime) -> tuple[Booking, int | None]:
    """The person's booking behind this door (in progress: his session; approved: the first
    scan) with its room, the room's relay module and the booking's open process.

    A donor has at most one active booking, so this is one row at most. It is the one query
    between the request and the locks, written as SQL (see clinic.rawsql); a refusal takes a
    few more queries to say why."""
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
        raise DoorRefused(_("This door code is not valid. Please scan the code on the door again."), code="bad_door")
    if Booking.objects.filter(donor=user, room=room_pk, status=Status.PENDING).exists():
        raise DoorRefused(
            _("Your booking for this room has not been approved yet."), code="not_approved", room_pk=room_pk
        )
    finished = _finished_session(user, room_pk, now)
    if finished is not None:
        raise DoorRefused(
            _("Your session in this room finished at %(time)s. Thank you.")
            % {"time": f"{timezone.localtime(finished.checked_out_at):%H:%M}"},
            code="session_finished",
            room_pk=room_pk,
        )
    raise DoorRefused(
        _("You have no booking for this room. Please check the room name on your booking."),
        code="no_booking",
        room_pk=room_pk,
    )


def _finished_session(user: User, room_pk: int, now: datetime) -> Booking | None:
    return (
        Booking.objects.filter(
            donor=user, room=room_pk, status=Status.COMPLETED, checked_out_at__gte=now - FINISHED_MEMORY
        )
        .order_by("-checked_out_at")
        .first()
    )


def _unlock_if_free(booking: Booking, now: datetime, command: RelayCommand) -> None:
    """Under the process lock: take the room lock, see that nobody else holds the room, then
    pulse the relay."""
    room_lock(booking.room_id)
    occupancy.room_free(booking, now)
    unlock(booking.room, command)


def _validated(door: Any, action: Any) -> None:
    if not isinstance(door, str) or not door or len(door) > 64:
        raise Invalid(
            _("Give the door code from the QR code."), code="invalid", fields={"door": [_("Invalid door code.")]}
        )
    if action not in (None, "", *ACTIONS):
        raise Invalid(
            _("Unknown door action."), code="invalid", fields={"action": [_("Use “finish”, “open” or nothing.")]}
        )


def _step(user: User, door: str, action: str | None, now: datetime, command: RelayCommand) -> ScanResult:
    booking, process_pk = _choose_booking(user, door, now)
    command.extra["booking"] = booking.pk
    room = booking.room
    if booking.status == Status.IN_PROGRESS:
        until = occupancy.repeat_until(booking)
        repeat = action != "finish" and until is not None and now < until
        if action == "open" and not repeat:
            raise DoorRefused(
                _("The door opens again only in the first %(seconds)d seconds of your session. To leave, use Finish.")
                % {"seconds": settings.DOOR_REPEAT_SECONDS},
                code="repeat_window_over",
                room_pk=room.pk,
            )
        if not repeat:
            booking = sessions.check_out(booking=booking, actor=user, now=now, process_pk=process_pk)
            return ScanResult("finished", booking)
        command.intent = _intent("door.unlock_intent", actor=user, room=room, booking=booking.pk, repeat=True)
        booking = sessions.reopen(booking=booking, before=lambda: unlock(room, command), process_pk=process_pk)
        return ScanResult("unlocked", booking, until)
    if action == "finish":
        raise DoorRefused(
            _("Your session has not started yet. Scan the door's code to open it."),
            code="not_in_session",
            room_pk=room.pk,
        )
    occupancy.in_window(booking, now)  # the usual refusals, before anything is written
    if room.relay_id is None:
        raise NoLock()
    command.intent = _intent("door.unlock_intent", actor=user, room=room, booking=booking.pk)
    booking = sessions.check_in(
        booking=booking,
        actor=user,
        now=now,
        process_pk=process_pk,
        before=lambda: _unlock_if_free(booking, now, command),
    )
    return ScanResult("unlocked", booking, occupancy.repeat_until(booking))


def _audit_scan(
    user: User, door: str, command: RelayCommand, outcome: str, reason: str, exc: Exception | None = None
) -> None:
    room_pk = getattr(exc, "room_pk", None)
    if room_pk is None:
        room_pk = Room.objects.filter(door_token=door).values_list("pk", flat=True).first()
    audit.record(
        "door.scan",
        actor=user,
        object_type="rooms.room",
        object_id=room_pk or "",
        outcome=outcome,
        reason=reason,
        data=command.outcome(),
    )


def scan(*, user: User, door: str, action: str | None = None, now: datetime | None = None) -> ScanResult:
    """A logged-in person scanned a door's QR code (`action`: "finish" from the door page's
    confirmed Finish button, "open" from its Open again button, which never finishes).
    Every attempt is audited, with what the relay did."""
    _validated(door, action)
    now = now or timezone.now()
    command = RelayCommand()
    try:
        result = _step(user, door, action or None, now, command)
    except DoorRefused as exc:
        _audit_scan(user, door, command, AuditEvent.Outcome.REFUSED, exc.code, exc)
        if exc.code == "room_in_use" and exc.holder is not None and occupancy.overstaying(exc.holder, now):
            # Someone is waiting at the door of a session past its end: staff are told now.
            sessions.flag_overstay(exc.holder.pk, now, "session past its end; the next donor is waiting at the door")
        raise
    except (DoorNotOpened, BoardBusy, NoLock) as exc:
        reason = f"{exc.code}: {command.error or exc.message}"[:255]
        _audit_scan(user, door, command, AuditEvent.Outcome.FAILED, reason)
        raise
    except DomainError as exc:  # the booking changed meanwhile (finished, closed), or is busy
        _audit_scan(user, door, command, AuditEvent.Outcome.REFUSED, exc.code)
        raise
    except BaseException:
        # The database (or anything else) failed around a command that may have gone out. The
        # database may be the reason: a failure to record this is logged; the intent stands.
        if command.intent is not None:
            try:
                _audit_scan(user, door, command, AuditEvent.Outcome.FAILED, "error after the relay command")
            except DatabaseError:
                log.exception("door scan: outcome of relay command (intent %s) not recorded", command.intent.pk)
        raise
    audit.record("door.scan", actor=user, obj=result.booking.room, data={"action": result.action, **command.outcome()})
    return result


def open_manually(*, room: Room, actor: User, reason: str, force: bool = False) -> None:
    """Staff open a door by hand (with a reason); audited whether or not the lock answers.
    A room with a session in progress opens only with `force`."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Give a reason for opening the door."), fields={"reason": [_("This field is required.")]})
    if room.relay_id is None:
        raise NoLock()
    command = RelayCommand(extra={"force": force})
    command.intent = _intent("door.unlock_intent", actor=actor, room=room, manual=True, force=force)
    outcome = AuditEvent.Outcome.FAILED
    try:
        with transaction.atomic():
            room_lock(room.pk)
            inside = occupancy.occupant(room.pk)
            if inside is not None:
                command.extra["occupied_by_booking"] = inside.pk
                if not force:
                    raise RoomInUse()
            unlock(room, command)
        outcome = AuditEvent.Outcome.SUCCESS
    except RoomInUse:
        outcome = AuditEvent.Outcome.REFUSED
        raise
    except (DoorNotOpened, BoardBusy) as exc:
        command.error = command.error or str(exc.message)
        raise
    finally:
        try:
            audit.record(
                "door.manual_open", actor=actor, obj=room, outcome=outcome, reason=reason, data=command.outcome()
            )
        except DatabaseError:  # the intent stands; the original error, if any, is what matters
            log.exception("manual opening of room %s: outcome not recorded", room.pk)


# --- what the door page says ---------------------------------------------------------------


@dataclass(frozen=True)
class DoorView:
    """What a tap on the door page will do for this person: `state` is "none" (no booking
    here), "waiting" (pending review), "before" (his slot: open the door), "during" (open
    again / finish) or "after" (finished at `finished_at`)."""

    state: str
    booking: Booking | None = None
    opens_at: datetime | None = None  # when the door will open for him, if not yet
    repeat_until: datetime | None = None
    finished_at: datetime | None = None


def door_view(user: User, room: Room, now: datetime | None = None) -> DoorView:
    now = now or timezone.now()
    mine = Booking.objects.filter(donor=user, room=room)
    active = mine.filter(status__in=(Status.PENDING, Status.APPROVED, Status.IN_PROGRESS)).first()
    if active is not None and active.status == Status.IN_PROGRESS:
        return DoorView("during", active, repeat_until=occupancy.repeat_until(active))
    if active is not None and active.status == Status.APPROVED:
        opens = active.start - timedelta(minutes=settings.EARLY_CHECK_IN_MINUTES)
        return DoorView("before", active, opens_at=opens if opens > now else None)
    if active is not None:
        return DoorView("waiting", active)
    finished = _finished_session(user, room.pk, now)
    if finished is not None:
        return DoorView("after", finished, finished_at=finished.checked_out_at)
    return DoorView("none")


def watch_doors(now: datetime | None = None) -> list[int]:
    """Read each door sensor; a door held open past DOOR_HELD_OPEN_SECONDS is alerted once."""
    now = now or timezone.now()
    alerted = []
    rooms = Room.objects.filter(active=True, relay__isnull=False, door_sensor_input__isnull=False).select_related(
        "relay"
    )
    for room in rooms:
        relay, sensor = room.relay, room.door_sensor_input
        assert relay is not None and sensor is not None  # filtered above
        try:
            is_open = lock_adapter().door_open(relay_target(room, relay), sensor, deadline_s=1.0)
        except (LockError, ValueError):
            continue  # a board that does not answer is seen by the scan path; try again next sweep
        if not is_open:
            Room.objects.filter(pk=room.pk).exclude(door_open_since=None).update(
                door_open_since=None, door_alerted_at=None
            )
            continue
        Room.objects.filter(pk=room.pk, door_open_since=None).update(door_open_since=now)
        room.refresh_from_db(fields=["door_open_since", "door_alerted_at"])
        held = now - (room.door_open_since or now)
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
