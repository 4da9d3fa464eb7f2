"""Booking, cancelling and moving a booking: each through its Viewflow process."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.status import PROCESS

from clinic.accounts import policy
from clinic.accounts.models import User
from clinic.audit import services as audit
from clinic.bookings import services as booking_services
from clinic.bookings.models import Booking, Status
from clinic.errors import Conflict, Forbidden
from clinic.notifications.services import notify
from workflows.flows import BookingFlow
from workflows.process import NotActive, current_process, lock_failure, process_lock

RESCHEDULABLE = (Status.PENDING, Status.APPROVED)


def tell_change(booking: Booking, change: str, *, actor: User | None, reason: str = "") -> None:
    """The donor hears of every change someone else makes to his booking (`change`: booked,
    cancelled, moved, closed), with the reason given for him; never of his own."""
    if actor is not None and actor.pk == booking.donor_id:
        return
    notify([booking.donor], "booking.changed", booking=booking, context={"change": change, "reason": reason.strip()})


def request_booking(*, actor: User, donor: User, room_id: int, start: datetime, purpose: str | None = None) -> Booking:
    """A donor (or staff on his behalf) books a slot and a room; both reviews open at once."""
    try:
        # All or nothing within the caller's transaction (the API view's): no savepoint of its own.
        with transaction.atomic(savepoint=False):
            booking = booking_services.create_booking(
                donor=donor, room_id=room_id, start=start, actor=actor, purpose=purpose
            )
            BookingFlow.start.run(booking=booking)
            tell_change(booking, "booked", actor=actor)
    except FlowLockFailed as exc:
        raise lock_failure(exc) from None
    return booking


def cancel_booking(*, booking_id: int, actor: User, reason: str = "") -> Booking:
    """The owner cancels while pending or approved; staff cancel any booking not in progress."""
    booking = booking_services.get_visible(actor, booking_id)
    if booking.donor_id != actor.pk and not policy.can_manage_bookings(actor):
        raise Forbidden(_("You may not cancel this booking."))
    if booking.status == Status.IN_PROGRESS:
        raise Conflict(_("This session is in progress and cannot be cancelled."), code="in_progress")
    process = current_process(booking)
    if process is not None:
        with process_lock(process.pk):
            process.refresh_from_db()
            booking.refresh_from_db()
            if process.status == PROCESS.NEW and booking.status in RESCHEDULABLE:
                booking = BookingFlow.instance.cancel_booking(process, actor=actor, reason=reason)
                tell_change(booking, "cancelled", actor=actor, reason=reason)
                return booking
    booking.refresh_from_db()
    raise NotActive(_("This booking is already %(status)s.") % {"status": booking.get_status_display()})


def movable_by(actor: User, booking_id: int) -> Booking:
    """The booking if the actor may move it: his own, or any with manage_bookings. Someone else's
    booking is not found (or, for those who see every booking, refused)."""
    booking = booking_services.get_visible(actor, booking_id)
    if booking.donor_id != actor.pk and not policy.can_manage_bookings(actor):
        raise Forbidden(_("You may not move this booking."))
    return booking


def reschedule(*, booking_id: int, actor: User, room_id: int, start: datetime) -> Booking:
    """The owner, or staff, move a pending or approved booking to a new slot/room; the reviews
    start again. Others are told no such booking exists (or, seeing all bookings, refused)."""
    booking = movable_by(actor, booking_id)
    if booking.status not in RESCHEDULABLE:
        raise Conflict(
            _("Only pending or approved bookings can be rescheduled (this one is %(status)s).")
            % {"status": booking.get_status_display()},
            code="not_reschedulable",
        )
    process = current_process(booking)
    if process is None:
        raise NotActive()
    with process_lock(process.pk):
        process.refresh_from_db()
        booking.refresh_from_db()
        if process.status != PROCESS.NEW or booking.status not in RESCHEDULABLE:
            raise NotActive()
        old = {"room": booking.room_id, "start": booking.start.isoformat()}
        booking_services.move(booking, room_id=room_id, start=start)
        BookingFlow.instance.end_process(process)
        BookingFlow.start.run(booking=booking, again=True)
        audit.record(
            "booking.rescheduled",
            actor=actor,
            obj=booking,
            data={"from": old, "to": {"room": room_id, "start": booking.start.isoformat()}},
        )
        tell_change(booking, "moved", actor=actor)
    return booking
