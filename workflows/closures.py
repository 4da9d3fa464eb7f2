"""Closing a room (or the whole site) for some days: never silently over active bookings.

A closure over pending or approved bookings is refused with 409 bookings_affected listing them,
unless the caller says what to do with them (`affected="cancel"`): then each is cancelled
through its process and its donor told, with the closure's reason. Their slots are not offered
to the waiting list: a closed room has no slots."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.accounts.models import User
from clinic.audit import services as audit
from clinic.bookings import waitlist
from clinic.bookings.availability import active_days, day_bounds
from clinic.bookings.models import Booking, Status
from clinic.errors import Conflict, NotFound
from clinic.rooms import services as room_services
from clinic.rooms.models import Closure, Room
from workflows import bookings as booking_flow

AFFECTED_CHOICES = ("cancel",)


class BookingsAffected(Conflict):
    code = "bookings_affected"
    default_message = gettext_lazy(
        "Active bookings fall within this closure. Cancel them with it (their donors are told) or move them first."
    )


def affected_bookings(room: Room | None, start_date: date, end_date: date) -> list[Booking]:
    """Pending and approved bookings starting on those local days, in the room (every room for a
    site-wide closure)."""
    days = active_days(start_date, end_date)
    if days is None:
        return []
    first, last = day_bounds(*days)
    bookings = Booking.objects.filter(status__in=(Status.PENDING, Status.APPROVED), start__gte=first, start__lt=last)
    if room is not None:
        bookings = bookings.filter(room=room)
    return list(bookings.select_related("room", "donor__donor_profile").order_by("start", "pk"))


def close(
    *, actor: User, room: Room | None, start_date: date, end_date: date, reason: str = "", affected: str | None = None
) -> tuple[Closure, list[Booking]]:
    """The closure, and the bookings it cancelled."""
    with transaction.atomic():
        found = affected_bookings(room, start_date, end_date)
        if found and affected != "cancel":
            raise BookingsAffected(
                extra={
                    "bookings": [
                        {
                            "id": booking.pk,
                            "start": timezone.localtime(booking.start).isoformat(),
                            "room": booking.room_id,
                            "donor_code": booking.donor.donor_code,
                        }
                        for booking in found
                    ]
                }
            )
        closure = room_services.add_closure(
            actor=actor, room=room, start_date=start_date, end_date=end_date, reason=reason
        )
        told = reason.strip() or _("The room is closed that day.")
        cancelled = [booking_flow.cancel_booking(booking_id=b.pk, actor=actor, reason=told) for b in found]
        # Slots held there are kept for nobody now (last: the waitlist lock comes after the
        # process locks the cancellations took).
        waitlist.release_room(room.pk if room else None, start_date, end_date)
    return closure, cancelled


def reopen(*, actor: User, closure_id: int) -> None:
    """Delete a closure (room or site-wide): its days are open again and their free slots go to
    the waiting list. Bookings it cancelled stay cancelled."""
    with transaction.atomic():
        closure = Closure.objects.select_for_update().filter(pk=closure_id).first()
        if closure is None:
            raise NotFound(_("No such closure."))
        audit.record(
            "closure.deleted",
            actor=actor,
            obj=closure,
            data={
                "room": closure.room_id,
                "start_date": closure.start_date.isoformat(),
                "end_date": closure.end_date.isoformat(),
                "reason": closure.reason,
            },
        )
        closure.delete()
        waitlist.offer_after_commit(None)
