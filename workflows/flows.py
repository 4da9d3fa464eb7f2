"""BookingFlow: a booking's life, from request through both reviews to the door and out.

Every outcome is a node of the flow, and its handlers are the only code that writes a booking's
status: approved, rejected, expired (not reviewed, or not paid, by the slot's start), no-show
(not at the door by the end of the check-in window), in progress, completed. The timeouts are
Viewflow timers on the tasks they end (`.OnTimeout`), fired by beat (`fire_due_timers()` in
workflows.tasks.sweep). A cancellation ends the process from outside (`cancel`, below).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow
from viewflow.workflow.status import PROCESS, STATUS

from clinic import locking
from clinic.accounts import policy
from clinic.audit import services as audit
from clinic.bookings import occupancy
from clinic.bookings import services as booking_services
from clinic.bookings.models import Booking, Payment, Review, Status
from clinic.notifications.services import announce_room_state, holders, notify, notify_holders_each
from workflows.models import BookingProcess
from workflows.views import ReviewTaskView

# The inbox line and task page "Brief" of a review: slot in local time, room name, the
# pseudonymous donor code (never a name: room managers see these pages too) and the purpose.
# Booking.__str__ would show the room id and the start in UTC.
REVIEW_SUMMARY = (
    "{{ process.booking.start|date:'Y-m-d H:i' }}–{{ process.booking.end|date:'H:i' }}"
    " · {{ process.booking.room.name }} · {{ process.booking.donor.donor_code }}"
    " · {{ process.booking.get_purpose_display }}"
)

FINISHED = (STATUS.DONE, STATUS.CANCELED, STATUS.REVIVED)


def booking_of_process(process: BookingProcess) -> Booking:
    """The process's booking, read under the process lock (the process object may carry a
    booking cached before the lock was taken)."""
    return Booking.objects.select_related("room", "donor__donor_profile").get(pk=process.booking_id)


def booking_of(activation: Any) -> Booking:
    """The activation's booking as read under the process lock by this step or the one that set
    it off (join, decide and approved follow a review in one locked transaction): kept on the
    activation's process, read once."""
    process = activation.process
    if not BookingProcess._meta.get_field("booking").is_cached(process):
        process.booking = booking_of_process(process)
    return process.booking


def close_open_tasks(process: BookingProcess, keep: Any = None) -> None:
    """Cancel the process's tasks still open (a review, its timer, the join), so that the end
    the caller is heading for finishes the process."""
    for task in process.task_set.exclude(status__in=FINISHED).exclude(pk=getattr(keep, "pk", None)):
        activation = task.flow_task.activation_class(task)
        if activation.cancel.can_proceed():
            activation.cancel()


class BookingFlow(flow.Flow):
    """Collection booking

    A donor's slot and room, reviewed by staff and by the room manager, then used at the door.
    """

    process_class = BookingProcess
    # The inbox (/workflow/) shows these and every node's title: in the reader's language.
    process_title = _("Collection booking")
    process_description = _(
        "A visit's time and room, reviewed by staff and by the room manager, then used at the door."
    )
    lock_impl = locking.PROCESS_LOCK  # see clinic.locking

    start = flow.StartHandle(this.start_process).Annotation(title=_("Booked")).Next(this.split)

    split = flow.Split().Annotation(title=_("Both reviews open")).Next(this.staff_review).Next(this.room_review)

    staff_review = (
        flow.View(ReviewTaskView.as_view(kind="staff"))
        .Annotation(title=_("Donation review"), summary_template=REVIEW_SUMMARY)
        .Permission(policy.REVIEW_PERMISSIONS["staff"])
        .OnTimeout(this.slot_start, this.expire, title=_("Slot started"))
        .Next(this.join)
    )
    room_review = (
        flow.View(ReviewTaskView.as_view(kind="room"))
        .Annotation(title=_("Room review"), summary_template=REVIEW_SUMMARY)
        .Permission(policy.REVIEW_PERMISSIONS["room"])
        .OnTimeout(this.slot_start, this.expire, title=_("Slot started"))
        .Next(this.join)
    )

    # A rejection ends the wait at once: the join cancels the other review task.
    join = flow.Join(continue_on_condition=this.any_rejected).Annotation(title=_("Reviews done")).Next(this.decide)

    decide = flow.If(this.both_approved).Annotation(title=_("Both approved?")).Then(this.approved).Else(this.rejected)

    approved = flow.Function(this.mark_approved).Annotation(title=_("Approved")).Next(this.check_in)
    check_in = (
        flow.Handle(this.do_check_in)
        .Annotation(title=_("First scan at the door"))
        .OnTimeout(this.check_in_closes, this.window_closed, title=_("Check-in window closed"))
        .Next(this.check_out)
    )
    check_out = flow.Handle(this.do_check_out).Annotation(title=_("Second scan at the door")).Next(this.end)

    rejected = flow.Function(this.mark_rejected).Annotation(title=_("Rejected")).Next(this.end_rejected)

    # Not reviewed by the slot's start: expired, told apart by why (the staff review waits for
    # the payment, so an unpaid booking is never approved).
    expire = flow.If(this.unpaid).Annotation(title=_("Unpaid?")).Then(this.expired_unpaid).Else(this.expired_unreviewed)
    expired_unpaid = (
        flow.Function(this.mark_expired_unpaid).Annotation(title=_("Expired unpaid")).Next(this.end_expired)
    )
    expired_unreviewed = (
        flow.Function(this.mark_expired_unreviewed).Annotation(title=_("Expired unreviewed")).Next(this.end_expired)
    )

    # The check-in window closes at start + grace, later while someone else's session kept the
    # donor out (his window then runs until grace after the room frees): wait on, or no-show.
    window_closed = (
        flow.If(this.kept_out)
        .Annotation(title=_("Kept out by another session?"))
        .Then(this.check_in)
        .Else(this.no_show)
    )
    no_show = flow.Function(this.mark_no_show).Annotation(title=_("No-show")).Next(this.end_no_show)

    end = flow.End().Annotation(title=_("Completed"))
    end_rejected = flow.End().Annotation(title=_("Ended: rejected"))
    end_expired = flow.End().Annotation(title=_("Ended: expired"))
    end_no_show = flow.End().Annotation(title=_("Ended: no-show"))

    # --- timers ----------------------------------------------------------------------------

    def slot_start(self, activation: Any) -> datetime:
        return activation.process.booking.start

    def check_in_closes(self, activation: Any) -> datetime:
        """When the donor's check-in window closes; while another session keeps the room, look
        again a grace period later."""
        booking = activation.process.booking
        closes = occupancy.check_in_closes_at(booking)
        return closes or timezone.now() + timedelta(minutes=settings.CHECK_IN_GRACE_MINUTES)

    # --- handlers: the only code that writes a booking's status --------------------------

    def start_process(self, activation: Any, booking: Booking, again: bool = False) -> BookingProcess:
        if again:  # moved to another slot: reviewed again from scratch
            booking_services.reset_reviews(booking)
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

    def unpaid(self, activation: Any) -> bool:
        return booking_of(activation).payment == Payment.PENDING

    def kept_out(self, activation: Any) -> bool:
        booking = booking_of(activation)
        return booking.status == Status.APPROVED and not occupancy.is_no_show(booking, timezone.now())

    def mark_approved(self, activation: Any) -> None:
        booking = booking_services.set_status(booking_of(activation), Status.APPROVED)
        audit.record("booking.approved", obj=booking)
        notify([booking.donor], "booking.approved", booking=booking)

    def mark_rejected(self, activation: Any) -> None:
        self._finish(activation, Status.REJECTED, "booking.rejected", tell="booking.rejected", told_reason=True)

    def mark_expired_unreviewed(self, activation: Any) -> None:
        self._finish(activation, Status.EXPIRED, "booking.expired", reason="not reviewed before the slot started")

    def mark_expired_unpaid(self, activation: Any) -> None:
        self._finish(activation, Status.EXPIRED, "booking.expired", reason="not paid before the slot started")

    def mark_no_show(self, activation: Any) -> None:
        self._finish(
            activation, Status.NO_SHOW, "booking.no_show", reason="no door scan by the end of the check-in window"
        )

    def _finish(
        self, activation: Any, status: str, action: str, *, reason: str = "", tell: str = "", told_reason: bool = False
    ) -> None:
        """A final status: open reviews cancelled, the process's other tasks closed, the donor told."""
        close_open_tasks(activation.process, keep=activation.task)
        booking = booking_of(activation)
        booking_services.set_status(booking, status, **booking_services.close_reviews(booking))
        audit.record(action, obj=booking, reason=reason)
        # A rejection tells the donor the reason written for him, never the reviewers' notes.
        context = {"reason": booking.reject_reason} if told_reason else None
        notify([booking.donor], tell or action, booking=booking, context=context)

    # `now`: the door's clock (the scan's time), so that the session's times and the door's
    # decisions agree and tests can move time.
    # The door steps return the booking as they left it (room and donor profile loaded): the
    # door's answer shows it.
    def do_check_in(self, activation: Any, actor: Any = None, now: datetime | None = None) -> Booking:
        booking = booking_services.set_status(
            booking_of(activation), Status.IN_PROGRESS, checked_in_at=now or timezone.now()
        )
        audit.record("booking.checked_in", actor=actor, obj=booking)  # who: the audit, not the task page
        announce_room_state(booking.room_id)
        return booking

    def do_check_out(
        self, activation: Any, actor: Any = None, closed_by_staff: bool = False, now: datetime | None = None
    ) -> Booking:
        booking = booking_services.set_status(
            booking_of(activation), Status.COMPLETED, checked_out_at=now or timezone.now()
        )
        activation.task.data = {**(activation.task.data or {}), "closed_by_staff": closed_by_staff}
        audit.record("booking.completed", actor=actor, obj=booking, data={"closed_by_staff": closed_by_staff})
        # The donor and the staff who collect the sample: one notify call, one delivery message.
        notify([booking.donor, *holders("bookings.manage_bookings")], "booking.completed", booking=booking)
        announce_room_state(booking.room_id)
        return booking

    # --- ended from outside: a cancellation or a move ----------------------------------------

    def end_process(self, process: BookingProcess) -> None:
        """End the process from outside (under its lock, taken by the caller): every open task
        and timer cancelled, the process marked cancelled."""
        close_open_tasks(process)
        process.status = PROCESS.CANCELED
        process.finished = timezone.now()
        process.save(update_fields=["status", "finished"])

    def cancel_booking(self, process: BookingProcess, *, actor: Any = None, reason: str = "") -> Booking:
        """The booking is cancelled (by its owner or by staff): the process ends, the booking's
        final status is cancelled."""
        self.end_process(process)
        booking = booking_of_process(process)
        booking_services.set_status(booking, Status.CANCELLED, **booking_services.close_reviews(booking))
        audit.record("booking.cancelled", actor=actor, obj=booking, reason=reason)
        return booking

    # --- who may open the task pages ------------------------------------------------------

    def has_view_permission(self, user: Any, obj: Any = None) -> bool:
        return policy.can_see_review_tasks(user)
