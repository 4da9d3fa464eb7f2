"""The two reviews of a booking: the inbox of open review tasks, and a decision on one."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from viewflow.fsm import TransitionNotAllowed
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from clinic.accounts import policy
from clinic.accounts.models import User
from clinic.audit import services as audit
from clinic.bookings import services as booking_services
from clinic.bookings.models import Booking
from clinic.errors import Forbidden, NotFound
from clinic.notifications.services import notify
from workflows.flows import BookingFlow, booking_of_process
from workflows.process import TaskDone, lock_failure

REVIEW_KINDS = {"staff_review": "staff", "room_review": "room"}


def review_kind(task: Task) -> str | None:
    return REVIEW_KINDS.get(task.flow_task.name) if task.flow_task else None


def tasks_for(user: User) -> QuerySet[Task]:
    """Open review tasks the user may do now: Viewflow's queue (unclaimed, his permissions
    allow them) and inbox (claimed by him), the soonest slot first."""
    reviews = [
        node
        for node in (BookingFlow.staff_review, BookingFlow.room_review)
        if policy.can_review(user, REVIEW_KINDS[node.name])
    ]
    if not reviews:
        return Task.objects.none()
    open_to_him = Task.objects.queue([BookingFlow], user) | Task.objects.inbox([BookingFlow], user)
    return (
        open_to_him.filter(flow_task__in=reviews)
        .select_related("process__bookingprocess")
        .order_by("process__bookingprocess__booking__start", "pk")
    )


def record_review_decision(
    activation: Any,
    *,
    kind: str,
    decision: str,
    comment: str,
    room_id: int | None,
    actor: User,
    reason: str = "",
) -> Booking:
    """Write a review's outcome on the booking and the task (under the process lock); the
    steps it sets off read the booking from the activation's process. The task keeps the
    decision only: its pages are open to both kinds of reviewer, and `comment` is staff-only."""
    booking = booking_of_process(activation.process)
    activation.process.booking = booking
    old_room = booking.room_id
    booking_services.apply_review(
        booking, kind=kind, decision=decision, comment=comment, reason=reason, room_id=room_id
    )
    activation.task.data = {**(activation.task.data or {}), "decision": decision}
    audit.record(
        f"booking.{kind}_review",
        actor=actor,
        obj=booking,
        outcome="success",
        reason=comment,
        data={
            "decision": decision,
            "reason": reason if decision == "rejected" else "",
            "moved_from_room": old_room if booking.room_id != old_room else None,
        },
    )
    notify([booking.donor], "booking.reviewed", booking=booking, context={"review": kind, "decision": decision})
    return booking


def complete_review(
    *, task_id: int, user: User, decision: str, comment: str = "", reason: str = "", room_id: int | None = None
) -> Booking:
    """Approve or reject a review task from code (the API). Viewflow does not check transition
    permissions here, so this does, through the task's own permission: not permitted →
    Forbidden; already done → TaskDone."""
    task = Task.objects.filter(pk=task_id, process__flow_class=BookingFlow).first()
    kind = review_kind(task) if task else None
    if task is None or kind is None:
        raise NotFound(_("No such task."))
    if room_id is not None and kind != "room":
        raise Forbidden(_("Only the room review can move a booking to another room."), code="room_move_not_allowed")
    try:
        # task.activation() takes the process lock and reads the task again under it.
        with task.activation() as activation:
            if activation.task.status in (STATUS.DONE, STATUS.CANCELED):
                raise TaskDone()
            if activation.assign.can_proceed():  # unclaimed: Viewflow's own rule says who may take it
                if not activation.assign.has_perm(user):
                    raise Forbidden(_("You may not do this task."))
                activation.assign(user)
            elif not activation.start.has_perm(user):
                if policy.can_review(user, kind):
                    raise Forbidden(_("This task is taken by someone else."), code="task_taken")
                raise Forbidden(_("You may not do this task."))
            if not activation.start.can_proceed():
                raise TaskDone()
            activation.start(None)
            record_review_decision(
                activation, kind=kind, decision=decision, comment=comment, reason=reason, room_id=room_id, actor=user
            )
            activation.execute()
    except TransitionNotAllowed:
        raise TaskDone() from None
    except FlowLockFailed as exc:
        raise lock_failure(exc) from None
    # As it now stands, with what the answer shows (room name, donor code and identity).
    return Booking.objects.select_related("room", "donor__donor_profile").get(pk=task.process.bookingprocess.booking_id)
