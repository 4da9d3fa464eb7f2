"""Rooms, their locks, opening hours and closures: the rules staff changes must obey."""

from __future__ import annotations

import ipaddress
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from clinic.audit import services as audit
from clinic.errors import Conflict, Invalid
from clinic.rooms.models import Closure, Opening, RelayModule, Room, new_door_token

MAX_SLOT_MINUTES = 240  # bounds how far back the slot engine looks for overlapping bookings
MAX_RELAY_CHANNEL = 31


def _invalid(field: str, message: str, code: str = "invalid") -> Invalid:
    return Invalid(message, code=code, fields={field: [message]})


def _relay_host(host: str) -> str:
    """A relay board's address: an IP address (a name's lookup is not bounded by the door's
    deadline) inside RELAY_NETWORKS."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise _invalid("lock", gettext("lock.host must be the board's IP address.")) from None
    if not any(address in ipaddress.ip_network(net, strict=False) for net in settings.RELAY_NETWORKS):
        raise _invalid(
            "lock",
            gettext("lock.host %(host)s is outside the relay networks (RELAY_NETWORKS: %(networks)s).")
            % {"host": host, "networks": ", ".join(settings.RELAY_NETWORKS)},
        )
    return str(address)


def _relay_for(lock: dict[str, Any], room: Room | None = None) -> tuple[RelayModule, dict[str, Any]]:
    """The relay module of a room's lock settings (created on first use), and the room's own
    fields. `mode` and `framing` belong to the board (host, port): every module behind one
    address speaks one way, so a room naming others for a board other rooms use is refused."""
    host = str(lock.get("host") or "").strip()
    if not host:
        raise _invalid("lock", gettext("lock.host is required."))
    host = _relay_host(host)
    port, unit, coil = int(lock.get("port", 502)), int(lock.get("unit", 1)), int(lock.get("coil", 0))
    pulse_ms = int(lock.get("pulse_ms", 3000))
    if not 1 <= port <= 65535:
        raise _invalid("lock", gettext("lock.port must be between 1 and 65535."))
    if not 1 <= unit <= 247:
        raise _invalid("lock", gettext("lock.unit must be between 1 and 247."))
    if not 0 <= coil <= MAX_RELAY_CHANNEL:
        raise _invalid("lock", gettext("lock.coil must be between 0 and %(max)d.") % {"max": MAX_RELAY_CHANNEL})
    if not 100 <= pulse_ms <= 60000:
        raise _invalid("lock", gettext("lock.pulse_ms must be between 100 and 60000."))
    mode = lock.get("mode") or RelayModule.Mode.FLASH
    if mode not in RelayModule.Mode.values:
        raise _invalid("lock", gettext("lock.mode must be flash or coil."))
    framing = lock.get("framing")
    if framing is None:
        known = RelayModule.objects.filter(host=host, port=port).values_list("framing", flat=True).first()
        framing = known or RelayModule.Framing.TCP
    if framing not in RelayModule.Framing.values:
        raise _invalid("lock", gettext("lock.framing must be tcp or rtu_over_tcp."))
    # Under the row locks of the board's modules: two rooms set up at once agree or one is refused.
    list(RelayModule.objects.select_for_update().filter(host=host, port=port).order_by("pk"))
    other_rooms = Room.objects.filter(relay__host=host, relay__port=port)
    if room is not None and room.pk is not None:
        other_rooms = other_rooms.exclude(pk=room.pk)
    clash = other_rooms.exclude(relay__mode=mode, relay__framing=framing).select_related("relay").first()
    if clash is not None and clash.relay is not None:
        raise Conflict(
            gettext(
                "Room %(room)s uses the board at %(address)s as %(mode)s over %(framing)s: "
                "every room on one board needs the same mode and framing."
            )
            % {
                "room": clash.name,
                "address": f"{host}:{port}",
                "mode": clash.relay.mode,
                "framing": clash.relay.framing,
            },
            code="relay_conflict",
        )
    relay, _ = RelayModule.objects.get_or_create(
        host=host, port=port, unit=unit, defaults={"mode": mode, "framing": framing}
    )
    # The board's other modules, unused or agreeing already, follow: one board, one way of speaking.
    RelayModule.objects.filter(host=host, port=port).exclude(mode=mode, framing=framing).update(
        mode=mode, framing=framing
    )
    relay.refresh_from_db()
    sensor = lock.get("door_sensor_input")
    return relay, {"coil": coil, "pulse_ms": pulse_ms, "door_sensor_input": None if sensor is None else int(sensor)}


@transaction.atomic
def configure_board(*, actor: Any, relay: RelayModule, mode: str, framing: str) -> RelayModule:
    """Change how a board is spoken to (the admin): every module behind its address (host, port)
    follows, so the rooms on it never disagree."""
    if mode not in RelayModule.Mode.values:
        raise _invalid("mode", gettext("lock.mode must be flash or coil."))
    if framing not in RelayModule.Framing.values:
        raise _invalid("framing", gettext("lock.framing must be tcp or rtu_over_tcp."))
    RelayModule.objects.filter(host=relay.host, port=relay.port).update(mode=mode, framing=framing)
    relay.refresh_from_db()
    audit.record("relay.configured", actor=actor, obj=relay, data={"mode": mode, "framing": framing})
    return relay


def _save_room(room: Room) -> Room:
    try:
        with transaction.atomic():
            room.save()
    except IntegrityError as exc:
        text = str(exc)
        if "relay" in text or "coil" in text:
            raise Conflict(
                gettext("Another room already uses that relay channel."), code="relay_channel_taken"
            ) from None
        raise Conflict(gettext("A room with that name already exists."), code="room_name_taken") from None
    return room


@transaction.atomic
def create_room(*, actor: Any, name: str, lock: dict[str, Any] | None = None, door_qr_mode: str = "unlock") -> Room:
    name = (name or "").strip()
    if not name:
        raise _invalid("name", gettext("A room needs a name."))
    room = Room(name=name, door_qr_mode=door_qr_mode)
    if lock:
        room.relay, fields = _relay_for(lock)
        for key, value in fields.items():
            setattr(room, key, value)
    _save_room(room)
    audit.record("room.created", actor=actor, obj=room, data={"name": name})
    return room


@transaction.atomic
def update_room(*, actor: Any, room: Room, changes: dict[str, Any]) -> Room:
    room = Room.objects.select_for_update().get(pk=room.pk)
    if "name" in changes:
        if not str(changes["name"]).strip():
            raise _invalid("name", gettext("A room needs a name."))
        room.name = str(changes["name"]).strip()
    if "active" in changes:
        room.active = bool(changes["active"])
    if "door_qr_mode" in changes:
        if changes["door_qr_mode"] not in Room.QrMode.values:
            raise _invalid("door_qr_mode", gettext("door_qr_mode must be unlock or shared."))
        room.door_qr_mode = changes["door_qr_mode"]
    if "lock" in changes:
        if changes["lock"] is None:
            room.relay = None
        else:
            room.relay, fields = _relay_for(changes["lock"], room)
            for key, value in fields.items():
                setattr(room, key, value)
    _save_room(room)
    audit.record("room.updated", actor=actor, obj=room, data={"fields": sorted(changes)})
    if not room.active:
        from clinic.bookings import waitlist  # the slot engine imports this module

        today = timezone.localdate()
        waitlist.release_room(room.pk, today, today + timedelta(days=settings.BOOKING_HORIZON_DAYS))
    return room


@transaction.atomic
def rotate_door_token(*, actor: Any, room: Room) -> Room:
    """A new door token: the old printed QR code stops working at once."""
    room = Room.objects.select_for_update().get(pk=room.pk)
    room.door_token = new_door_token()
    room.door_token_rotated = timezone.now()
    room.save(update_fields=["door_token", "door_token_rotated"])
    audit.record("room.door_token_rotated", actor=actor, obj=room)
    return room


# --- opening hours ---------------------------------------------------------------------


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _validate_window(start_time: time, end_time: time, slot_minutes: int) -> None:
    if start_time.second or end_time.second:
        raise _invalid("start_time", gettext("Times are whole minutes (HH:MM)."), "bad_window")
    if end_time <= start_time:
        raise _invalid("end_time", gettext("The end time must be after the start time."), "bad_window")
    if not 5 <= slot_minutes <= MAX_SLOT_MINUTES:
        raise _invalid(
            "slot_minutes",
            gettext("A slot lasts between 5 and %(max)d minutes.") % {"max": MAX_SLOT_MINUTES},
            "bad_window",
        )
    length = _minutes(end_time) - _minutes(start_time)
    if length % slot_minutes:
        raise _invalid(
            "slot_minutes",
            gettext("The window lasts %(length)d minutes, which %(slot)d-minute slots do not divide evenly.")
            % {"length": length, "slot": slot_minutes},
            "bad_window",
        )


def _days_overlap(a: Opening, b: Opening) -> bool:
    if a.date and b.date:
        return a.date == b.date
    if a.date:
        return a.date.weekday() in b.weekdays
    if b.date:
        return b.date.weekday() in a.weekdays
    return bool(set(a.weekdays) & set(b.weekdays))


def _check_no_overlap(opening: Opening) -> None:
    others = Opening.objects.select_for_update().filter(room=opening.room).exclude(pk=opening.pk)
    for other in others:
        if (
            _days_overlap(opening, other)
            and opening.start_time < other.end_time
            and other.start_time < opening.end_time
        ):
            when = other.date.isoformat() if other.date else gettext("weekly")
            raise _invalid(
                "start_time",
                gettext("This window overlaps another window of the room (%(when)s %(start)s-%(end)s).")
                % {"when": when, "start": f"{other.start_time:%H:%M}", "end": f"{other.end_time:%H:%M}"},
                "overlapping_window",
            )


def _clean_days(day: date | None, weekdays: list[int] | None) -> tuple[date | None, list[int]]:
    if (day is None) == (not weekdays):
        raise _invalid("date", gettext("Give either a date or a list of weekdays (0 = Monday)."), "bad_window")
    if weekdays:
        if any(not isinstance(w, int) or not 0 <= w <= 6 for w in weekdays):
            raise _invalid("weekdays", gettext("Weekdays are numbers 0 (Monday) to 6 (Sunday)."), "bad_window")
        return None, sorted(set(weekdays))
    return day, []


@transaction.atomic
def add_opening(
    *,
    actor: Any,
    room: Room,
    start_time: time,
    end_time: time,
    slot_minutes: int,
    date: date | None = None,
    weekdays: list[int] | None = None,
) -> Opening:
    day, days = _clean_days(date, weekdays)
    _validate_window(start_time, end_time, slot_minutes)
    Room.objects.select_for_update().get(pk=room.pk)  # one writer of a room's windows at a time
    opening = Opening(
        room=room, date=day, weekdays=days, start_time=start_time, end_time=end_time, slot_minutes=slot_minutes
    )
    _check_no_overlap(opening)
    opening.save()
    audit.record("opening.created", actor=actor, obj=opening, data={"room": room.pk})
    _offer_new_slots()
    return opening


def _offer_new_slots() -> None:
    """New or longer opening hours may be what someone on the waiting list waits for."""
    from clinic.bookings import waitlist  # the slot engine imports this module

    waitlist.offer_after_commit(None)


@transaction.atomic
def update_opening(*, actor: Any, opening: Opening, changes: dict[str, Any]) -> Opening:
    Room.objects.select_for_update().get(pk=opening.room_id)
    opening = Opening.objects.get(pk=opening.pk)
    day = changes.get("date", opening.date)
    weekdays = changes.get("weekdays", opening.weekdays)
    if "date" in changes and changes["date"] is not None and "weekdays" not in changes:
        weekdays = []
    if changes.get("weekdays") and "date" not in changes:
        day = None
    opening.date, opening.weekdays = _clean_days(day, weekdays)
    for field in ("start_time", "end_time", "slot_minutes"):
        if field in changes:
            setattr(opening, field, changes[field])
    _validate_window(opening.start_time, opening.end_time, opening.slot_minutes)
    _check_no_overlap(opening)
    opening.save()
    audit.record("opening.updated", actor=actor, obj=opening, data={"fields": sorted(changes)})
    _offer_new_slots()
    return opening


@transaction.atomic
def delete_opening(*, actor: Any, opening: Opening) -> None:
    audit.record("opening.deleted", actor=actor, obj=opening, data={"room": opening.room_id})
    opening.delete()


@transaction.atomic
def add_closure(*, actor: Any, room: Room | None, start_date: date, end_date: date, reason: str = "") -> Closure:
    if end_date < start_date:
        raise _invalid("end_date", gettext("The end date must not be before the start date."), "bad_closure")
    closure = Closure.objects.create(room=room, start_date=start_date, end_date=end_date, reason=reason)
    audit.record("closure.created", actor=actor, obj=closure, data={"room": room.pk if room else None})
    return closure


def local_datetime(day: date, at: time) -> datetime:
    """The aware datetime of a wall-clock time at the clinic on that day."""
    return datetime.combine(day, at, tzinfo=timezone.get_default_timezone())
