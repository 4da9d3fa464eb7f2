"""Who holds a room: the session inside it, the donor whose slot is running, and until when a
donor kept out by someone else's session may still come in.

A room is one person's from his unlock to his finish. While another booking of the room is in
progress, or another approved booking's slot is running (or comes before the scanning donor's
and is not over) and its donor may still come, a first scan is refused (`room_in_use`). A donor
kept out by a session is never a no-show: his check-in window stays open until
CHECK_IN_GRACE_MINUTES after the room frees. (The room board built on it: clinic.rooms.board.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.bookings.availability import room_slot
from clinic.bookings.models import Booking, Status
from clinic.errors import Forbidden

SESSION_STATUSES = (Status.IN_PROGRESS, Status.COMPLETED)


class DoorRefused(Forbidden):
    """A door scan that must not open the door (403). `holder` is the booking that holds the
    room when the refusal is `room_in_use` (never shown to the person refused)."""

    code = "refused"
    default_message = gettext_lazy("This door cannot be opened now.")

    def __init__(self, message: str, *, code: str, room_pk: int | None = None, holder: Booking | None = None) -> None:
        super().__init__(message, code=code)
        self.room_pk = room_pk
        self.holder = holder


def _grace() -> timedelta:
    return timedelta(minutes=settings.CHECK_IN_GRACE_MINUTES)


def repeat_until(booking: Booking) -> datetime | None:
    """Until when the occupant's scan opens the door again instead of finishing (from his
    check-in, never extended)."""
    if booking.status != Status.IN_PROGRESS or booking.checked_in_at is None:
        return None
    return booking.checked_in_at + timedelta(seconds=settings.DOOR_REPEAT_SECONDS)


def holder(booking: Booking, now: datetime) -> Booking | None:
    """Another booking of the same room that holds it at `now`: a session in progress, or an
    approved booking whose donor has not come yet and whose slot is running, or comes before
    this one's and is not over (a donor early for his slot never goes in ahead of the one
    whose turn comes first)."""
    turn = Q(start__lte=now) | Q(start__lt=booking.start)
    waiting = Q(status=Status.APPROVED, end__gt=now) & turn
    others = (
        Booking.objects.filter(room_id=booking.room_id)
        .exclude(pk=booking.pk)
        .filter(Q(status=Status.IN_PROGRESS) | waiting)
        .order_by("-status", "start")  # in_progress before approved
    )
    for other in others:
        if other.status == Status.IN_PROGRESS:
            return other
        closes = check_in_closes_at(other)
        if closes is None or now < closes:  # he may still come in
            return other
    return None


def occupant(room_id: int) -> Booking | None:
    """The booking whose session is in progress in the room, if any."""
    return Booking.objects.filter(room_id=room_id, status=Status.IN_PROGRESS).order_by("checked_in_at").first()


def check_in_closes_at(booking: Booking) -> datetime | None:
    """When the booking's check-in window closes (the first instant it is closed):
    CHECK_IN_GRACE_MINUTES after its start, or
    after the room freed if other sessions kept the room busy within the window (each such
    session pushes the close to grace after its finish). None while such a session still runs.
    """
    closes = booking.start + _grace()
    sessions = (
        Booking.objects.filter(room_id=booking.room_id, status__in=SESSION_STATUSES, checked_in_at__isnull=False)
        .exclude(pk=booking.pk)
        .filter(Q(checked_out_at__isnull=True) | Q(checked_out_at__gt=booking.start))
        .order_by("checked_in_at")
        .values_list("checked_in_at", "checked_out_at")
    )
    for checked_in, checked_out in sessions:
        assert checked_in is not None  # filtered above
        if checked_in > closes:
            break  # began after the window had closed: it kept nobody out
        if checked_out is None:
            return None
        closes = max(closes, checked_out + _grace())
    return closes


def is_no_show(booking: Booking, now: datetime) -> bool:
    """An approved booking whose donor did not come in his window (extended while kept out)."""
    if booking.status != Status.APPROVED or now < booking.start + _grace():
        return False
    closes = check_in_closes_at(booking)
    return closes is not None and now >= closes


def in_window(booking: Booking, now: datetime) -> None:
    """Raise DoorRefused unless `now` is in the booking's check-in window and its room is open
    for its slot (`booking.room` loaded). Others' sessions only ever widen the window. A first
    scan also needs the room free (`room_free`, under the room lock)."""
    room = booking.room
    early = timedelta(minutes=settings.EARLY_CHECK_IN_MINUTES)
    if now < booking.start - early:
        opens = timezone.localtime(booking.start - early)
        raise DoorRefused(
            _("It is too early. You can open this door from %(time)s on %(date)s.")
            % {"time": f"{opens:%H:%M}", "date": f"{opens:%Y-%m-%d}"},
            code="too_early",
            room_pk=room.pk,
        )
    if now >= booking.start + _grace():
        closes = check_in_closes_at(booking)
        if closes is not None and now >= closes:
            raise DoorRefused(
                _("The time to enter for this booking has passed. Please book a new slot."),
                code="too_late",
                room_pk=room.pk,
            )
    if not room.active or room_slot(room, booking.start) is None:
        raise DoorRefused(_("This room is closed now. Please contact staff."), code="room_closed", room_pk=room.pk)


def room_free(booking: Booking, now: datetime) -> None:
    """Raise DoorRefused (`room_in_use`, naming nobody) while someone else holds the room."""
    other = holder(booking, now)
    if other is not None:
        raise DoorRefused(
            _(
                "This room is in use right now. Please wait nearby and scan again in a few minutes: "
                "your time to enter is kept until the room is free."
            ),
            code="room_in_use",
            room_pk=booking.room_id,
            holder=other,
        )


def overstaying(holder: Booking | None, now: datetime) -> bool:
    """The holder is a session past its slot's end (someone is waiting for the room)."""
    return holder is not None and holder.status == Status.IN_PROGRESS and now >= holder.end
