"""BookingFlow: a booking's life, from request through both reviews to the door and out."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.utils import timezone
from viewflow import this
from viewflow.workflow import flow
from viewflow.workflow.lock import SelectForUpdateLock

from clinic.audit import services as audit
from clinic.bookings import services as booking_services
from clinic.bookings.models import Booking, Review, Status
from clinic.notifications.services import announce_room_state, holders, notify, notify_holders_each
from workflows.models import BookingProcess
from workflows.views import ReviewTaskView

# The inbox line and task page "Brief" of a review: slot in local time, room name and the
# pseudonymous donor code (never a name: room managers see these pages too). Booking.__str__
# would show the room id and the start in UTC.
REVIEW_SUMMARY = (
    "{{ process.booking.start|date:'Y-m-d H:i' }}–{{ process.booking.end|date:'H:i' }}"
    " · {{ process.booking.room.name }} · {{ process.booking.donor.donor_code }}"
)


# The booking as read (and changed) under the process lock by the step now running, shared with
# the nodes that step sets off (join, decide, approved): they run under the same lock, so nobody
# else can have changed it since.
_booking_under_lock: contextvars.ContextVar[Booking | None] = contextvars.ContextVar("booking_under_lock", default=None)


@contextmanager
def sharing(booking: Booking) -> Iterator[None]:
    """Within this block (under the process lock), booking_of() returns `booking` itself."""
    token = _booking_under_lock.set(booking)
    try:
        yield
    finally:
        _booking_under_lock.reset(token)


def booking_of(activation: Any) -> Booking:
    shared = _booking_under_lock.get()
    if shared is not None and shared.pk == activation.process.booking_id:
        return shared
    # Re-read under the lock: the process object may carry a stale cached booking.
    return Booking.objects.select_related("room", "donor__donor_profile").get(pk=activation.process.booking_id)


class BookingFlow(flow.Flow):
    """Collection booking

    A donor's slot and room, reviewed by staff and by the room manager, then used at the door.
    """

    process_class = BookingProcess
    # Wait for the row lock rather than fail fast: a staff approval and a room rejection
    # arriving together must both be applied, one after the other. PostgreSQL's lock_timeout
    # (settings) bounds the wait; on SQLite IMMEDIATE transactions serialise instead.
    lock_impl = SelectForUpdateLock(nowait=False, attempts=1)

    start = flow.StartHandle(this.start_process).Next(this.split)

    split = flow.Split().Next(this.staff_review).Next(this.room_review)

    staff_review = (
        flow.View(ReviewTaskView.as_view(kind="staff"))
        .Annotation(title="Donation review", summary_template=REVIEW_SUMMARY)
        .Permission("bookings.review_donation")
        .Next(this.join)
    )
    room_review = (
        flow.View(ReviewTaskView.as_view(kind="room"))
        .Annotation(title="Room review", summary_template=REVIEW_SUMMARY)
        .Permission("bookings.review_room")
        .Next(this.join)
    )

    # A rejection ends the wait at once: the join cancels the other review task.
    join = flow.Join(continue_on_condition=this.any_rejected).Next(this.decide)

    decide = flow.If(this.both_approved).Then(this.approved).Else(this.rejected)

    approved = flow.Function(this.mark_approved).Next(this.check_in)
    check_in = flow.Handle(this.do_check_in).Next(this.check_out)
    check_out = flow.Handle(this.do_check_out).Next(this.end)

    rejected = flow.Function(this.mark_rejected).Next(this.end)

    end = flow.End()

    # --- handlers: the only code that writes a booking's status --------------------------

    def start_process(self, activation: Any, booking: Booking) -> BookingProcess:
        activation.process.booking = booking
        # Both reviewers hear of it at once (after commit, through the workers, in one message).
        notify_holders_each(
            [("bookings.review_donation", "booking.requested"), ("bookings.review_room", "room.requested")],
            booking=booking,
        )
        return activation.process

    def any_rejected(self, activation: Any, active_tasks: Any) -> bool:
        booking = booking_of(activation)
        return Review.REJECTED in (booking.staff_review, booking.room_review)

    def both_approved(self, activation: Any) -> bool:
        booking = booking_of(activation)
        return booking.staff_review == booking.room_review == Review.APPROVED

    def mark_approved(self, activation: Any) -> None:
        booking = booking_services.set_status(booking_of(activation), Status.APPROVED)
        audit.record("booking.approved", obj=booking)
        notify([booking.donor], "booking.approved", booking=booking)

    def mark_rejected(self, activation: Any) -> None:
        booking = booking_of(activation)
        booking_services.set_status(booking, Status.REJECTED, **booking_services.close_reviews(booking))
        audit.record("booking.rejected", obj=booking)
        notify([booking.donor], "booking.rejected", booking=booking)

    # `now`: the door's clock (the scan's time), so that the session's times and the door's
    # decisions agree and tests can move time.
    def do_check_in(self, activation: Any, actor: Any = None, now: datetime | None = None) -> None:
        booking = booking_services.set_status(
            booking_of(activation), Status.IN_PROGRESS, checked_in_at=now or timezone.now()
        )
        activation.task.data = {**(activation.task.data or {}), "actor": getattr(actor, "pk", None)}
        audit.record("booking.checked_in", actor=actor, obj=booking)
        announce_room_state(booking.room_id)

    def do_check_out(
        self, activation: Any, actor: Any = None, closed_by_staff: bool = False, now: datetime | None = None
    ) -> None:
        booking = booking_services.set_status(
            booking_of(activation), Status.COMPLETED, checked_out_at=now or timezone.now()
        )
        activation.task.data = {
            **(activation.task.data or {}),
            "actor": getattr(actor, "pk", None),
            "closed_by_staff": closed_by_staff,
        }
        audit.record("booking.completed", actor=actor, obj=booking, data={"closed_by_staff": closed_by_staff})
        # The donor and the staff who collect the sample: one notify call, one delivery message.
        notify([booking.donor, *holders("bookings.manage_bookings")], "booking.completed", booking=booking)
        announce_room_state(booking.room_id)

    # --- who may open the task pages ------------------------------------------------------

    def has_view_permission(self, user: Any, obj: Any = None) -> bool:
        return user.is_authenticated and (
            user.has_perm("bookings.review_donation")
            or user.has_perm("bookings.review_room")
            or user.has_perm("bookings.view_all_bookings")
        )
