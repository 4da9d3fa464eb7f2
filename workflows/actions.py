"""Everything that changes a booking goes through here, and through its Viewflow process.

Views, scans, Celery sweeps and admin actions call these functions; each holds the process
lock while it reads and changes the booking, so racing requests apply one after the other.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from viewflow.fsm import TransitionNotAllowed
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from clinic.accounts.models import User
from clinic.audit import services as audit
from clinic.bookings import occupancy
from clinic.bookings import services as booking_services
from clinic.bookings.models import ACTIVE_STATUSES, Booking, Status
from clinic.errors import Conflict, Forbidden, NotFound
from clinic.notifications.services import notify, notify_holders
from clinic.rawsql import Columns
from workflows import flows
from workflows.flows import BookingFlow
from workflows.models import BookingProcess

REVIEW_KINDS = {"staff_review": "staff", "room_review": "room"}


class Busy(Conflict):
    code = "busy"
    default_message = gettext_lazy("Someone else is changing this booking right now; please retry.")


class TaskDone(Conflict):
    code = "task_done"
    default_message = gettext_lazy("This task has already been done.")


class NotActive(Conflict):
    code = "not_active"
    default_message = gettext_lazy("This booking is already over.")


def _lock_failure(exc: FlowLockFailed) -> Exception:
    """Viewflow reports every database error on taking the lock as FlowLockFailed. Only a lock
    wait that timed out (SQLSTATE 55P03) means someone else holds the booking; anything else
    (a dropped connection) is the database's failure, answered as such (503)."""
    error = exc.__context__
    if isinstance(error, DatabaseError) and getattr(error.__cause__, "sqlstate", "55P03") != "55P03":
        return error
    return Busy()


@contextmanager
def _process_lock(process_pk: int) -> Iterator[None]:
    """The process's row lock; its body runs in one transaction."""
    try:
        with BookingFlow.lock(process_pk):
            yield
    except FlowLockFailed as exc:
        raise _lock_failure(exc) from None


def current_process(booking: Booking) -> BookingProcess | None:
    return booking.processes.filter(status=PROCESS.NEW).order_by("-pk").first()


def review_kind(task: Task) -> str | None:
    return REVIEW_KINDS.get(task.flow_task.name) if task.flow_task else None


# --- booking ----------------------------------------------------------------------------


def request_booking(*, actor: User, donor: User, room_id: int, start: datetime) -> Booking:
    """A donor (or staff on his behalf) books a slot and a room; both reviews open at once."""
    try:
        with transaction.atomic():
            booking = booking_services.create_booking(donor=donor, room_id=room_id, start=start, actor=actor)
            BookingFlow.start.run(booking=booking)
    except FlowLockFailed as exc:
        raise _lock_failure(exc) from None
    return booking


# --- reviews ----------------------------------------------------------------------------


def tasks_for(user: User) -> QuerySet[Task]:
    """Open review tasks the user may do now: those his permissions allow, unclaimed or his."""
    flow_tasks = [
        node for node in (BookingFlow.staff_review, BookingFlow.room_review) if user.has_perm(node._owner_permission)
    ]
    if not flow_tasks:
        return Task.objects.none()
    mine_or_free = Q(status=STATUS.NEW) | Q(status__in=(STATUS.ASSIGNED, STATUS.STARTED), owner=user)
    return (
        Task.objects.filter(process__flow_class=BookingFlow, flow_task__in=flow_tasks)
        .filter(mine_or_free)
        .select_related("process__bookingprocess")
        .order_by("created", "pk")
    )


def record_review_decision(
    activation: Any, *, kind: str, decision: str, comment: str, room_id: int | None, actor: User
) -> Booking:
    """Write a review's outcome on the booking and the task (under the process lock)."""
    booking = Booking.objects.select_related("room", "donor__donor_profile").get(pk=activation.process.booking_id)
    old_room = booking.room_id
    booking_services.apply_review(booking, kind=kind, decision=decision, comment=comment, room_id=room_id)
    activation.task.data = {**(activation.task.data or {}), "decision": decision, "comment": comment}
    audit.record(
        f"booking.{kind}_review",
        actor=actor,
        obj=booking,
        outcome="success",
        reason=comment,
        data={"decision": decision, "moved_from_room": old_room if booking.room_id != old_room else None},
    )
    notify([booking.donor], "booking.reviewed", booking=booking, context={"review": kind, "decision": decision})
    return booking


def complete_review(
    *, task_id: int, user: User, decision: str, comment: str = "", room_id: int | None = None
) -> Booking:
    """Approve or reject a review task from code (the API). Viewflow does not check transition
    permissions here, so this does: not permitted → Forbidden; already done → TaskDone."""
    task = Task.objects.filter(pk=task_id, process__flow_class=BookingFlow).select_related("process").first()
    kind = review_kind(task) if task else None
    if task is None or kind is None:
        raise NotFound(_("No such task."))
    if room_id is not None and kind != "room":
        raise Forbidden(_("Only the room review can move a booking to another room."), code="room_move_not_allowed")
    try:
        # task.activation() takes the process lock and reads the task again under it.
        with task.activation() as activation:
            task = activation.task
            if task.status in (STATUS.DONE, STATUS.CANCELED):
                raise TaskDone()
            if not user.has_perm(task.owner_permission):
                raise Forbidden(_("You may not do this task."))
            if activation.assign.can_proceed():
                activation.assign(user)
            elif task.owner_id != user.pk:
                raise Forbidden(_("This task is taken by someone else."), code="task_taken")
            if not activation.start.can_proceed():
                raise TaskDone()
            activation.start(None)
            booking = record_review_decision(
                activation, kind=kind, decision=decision, comment=comment, room_id=room_id, actor=user
            )
            with flows.sharing(booking):  # join, decide, approved: no second read
                activation.execute()
    except TransitionNotAllowed:
        raise TaskDone() from None
    except FlowLockFailed as exc:
        raise _lock_failure(exc) from None
    # As it now stands: every change under the lock (the review, the outcome) was made on this
    # object, read with what the answer shows (room name, donor code and identity).
    return booking


# --- ending a booking early ---------------------------------------------------------------


def _end(
    booking_id: int,
    *,
    status: str,
    action: str,
    actor: User | None,
    reason: str = "",
    expect: tuple[str, ...] = ACTIVE_STATUSES,
    when: Any = None,
    tell: str | None = None,
) -> Booking | None:
    """Cancel the process's open tasks and give the booking its final status, if it is still in
    one of `expect` (and `when(booking)` holds); `tell` is the donor's notification kind.
    Returns None when there was nothing to do."""
    booking = Booking.objects.filter(pk=booking_id).first()
    if booking is None:
        raise NotFound(_("No such booking."))
    process = current_process(booking)
    if process is None:
        return None
    with _process_lock(process.pk):
        process.refresh_from_db()
        booking.refresh_from_db()
        if process.status != PROCESS.NEW or booking.status not in expect or (when and not when(booking)):
            return None
        BookingFlow.instance.cancel(process)
        booking_services.set_status(booking, status, **booking_services.close_reviews(booking))
        audit.record(action, actor=actor, obj=booking, reason=reason)
        if tell:
            notify([booking.donor], tell, booking=booking)
    return booking


def cancel_booking(*, booking_id: int, actor: User, reason: str = "") -> Booking:
    """The owner cancels while pending or approved; staff cancel any booking not in progress."""
    booking = booking_services.get_visible(actor, booking_id)
    is_staff = actor.has_perm("bookings.manage_bookings")
    if booking.donor_id != actor.pk and not is_staff:
        raise Forbidden(_("You may not cancel this booking."))
    if booking.status == Status.IN_PROGRESS:
        raise Conflict(_("This session is in progress and cannot be cancelled."), code="in_progress")
    done = _end(
        booking.pk,
        status=Status.CANCELLED,
        action="booking.cancelled",
        actor=actor,
        reason=reason,
        expect=(Status.PENDING, Status.APPROVED),
    )
    if done is None:
        booking.refresh_from_db()
        raise NotActive(_("This booking is already %(status)s.") % {"status": booking.get_status_display()})
    return done


def reschedule(*, booking_id: int, actor: User, room_id: int, start: datetime) -> Booking:
    """Staff move a pending or approved booking to a new slot/room; the reviews start again."""
    booking = Booking.objects.filter(pk=booking_id).first()
    if booking is None:
        raise NotFound(_("No such booking."))
    if booking.status not in (Status.PENDING, Status.APPROVED):
        raise Conflict(
            _("Only pending or approved bookings can be rescheduled (this one is %(status)s).")
            % {"status": booking.get_status_display()},
            code="not_reschedulable",
        )
    process = current_process(booking)
    if process is None:
        raise NotActive()
    with _process_lock(process.pk):
        process.refresh_from_db()
        booking.refresh_from_db()
        if process.status != PROCESS.NEW or booking.status not in (Status.PENDING, Status.APPROVED):
            raise NotActive()
        old = {"room": booking.room_id, "start": booking.start.isoformat()}
        booking_services.move(booking, room_id=room_id, start=start)
        BookingFlow.instance.cancel(process)
        booking_services.reset_reviews(booking)
        BookingFlow.start.run(booking=booking)
        audit.record(
            "booking.rescheduled",
            actor=actor,
            obj=booking,
            data={"from": old, "to": {"room": room_id, "start": booking.start.isoformat()}},
        )
    return booking


# --- the door -----------------------------------------------------------------------------


_TASK = Columns(Task, "t", [field.attname for field in Task._meta.concrete_fields])


@functools.cache
def _due_task_sql(vendor: str) -> str:
    # Identifiers come from the models' metadata, quoted; every value is a parameter.
    bookings = connection.ops.quote_name(Booking._meta.db_table)
    return " ".join(
        [
            f"SELECT {_TASK.sql()} FROM {_TASK.table()}",  # noqa: S608
            "WHERE t.process_id = %s AND t.flow_task = %s AND t.status = %s",
            f"AND EXISTS (SELECT 1 FROM {bookings} b WHERE b.id = %s AND b.status = %s)",  # noqa: S608
        ]
    )


def _due_task(process_pk: int, node: Any, booking_pk: int, expect: str) -> Task | None:
    """The process's open task for `node`, if the booking is still `expect`: one query on the
    door's way to the lock relay, written as SQL (see clinic.rawsql)."""
    flow_task = Task._meta.get_field("flow_task").get_prep_value(node)
    with connection.cursor() as cursor:
        cursor.execute(_due_task_sql(connection.vendor), [process_pk, flow_task, STATUS.NEW, booking_pk, expect])
        row = cursor.fetchone()
    return _TASK.instance(row) if row is not None else None


def _run_handle(
    booking: Booking,
    node: Any,
    expect: str,
    before: Any = None,
    process_pk: int | None = None,
    step: bool = True,
    **kwargs: Any,
) -> Booking:
    """Run the door step `node` on the booking's open process (`process_pk` when the caller
    already read it). Under the process lock one query checks both that the step is due and
    that the booking is still `expect`; then `before` (the door unlock), then the step (unless
    `step` is False: a repeat scan opens the door and the session goes on)."""
    if process_pk is None:
        process = current_process(booking)
        if process is None:
            raise NotActive()
        process_pk = process.pk
    with _process_lock(process_pk):
        task = _due_task(process_pk, node, booking.pk, expect)
        if task is None:
            booking.refresh_from_db()
            raise Conflict(
                _("This booking is %(status)s.") % {"status": booking.get_status_display()}, code="wrong_state"
            )
        if before is not None:
            before()
        if step:
            node.run(task, **kwargs)
    # Read afresh, whole (the caller's copy may hold only some fields), with what the booking's
    # answer shows: room name, donor code (and identity for staff).
    return Booking.objects.select_related("room", "donor__donor_profile").get(pk=booking.pk)


def check_in(
    *, booking: Booking, actor: User, now: datetime | None = None, before: Any = None, process_pk: int | None = None
) -> Booking:
    """The first door scan: the session begins. `before` (the room lock, the admission check
    and the door unlock) runs inside the same locked transaction first: if it fails, nothing
    changes."""
    return _run_handle(
        booking, BookingFlow.check_in, Status.APPROVED, actor=actor, now=now, before=before, process_pk=process_pk
    )


def reopen(*, booking: Booking, before: Any, process_pk: int | None = None) -> Booking:
    """The occupant's repeat scan soon after his check-in: `before` (the unlock) runs under the
    process lock while the session is still in progress; the session goes on."""
    return _run_handle(
        booking, BookingFlow.check_out, Status.IN_PROGRESS, before=before, process_pk=process_pk, step=False
    )


def check_out(*, booking: Booking, actor: User, now: datetime | None = None, process_pk: int | None = None) -> Booking:
    """The donor finishes (a scan after the repeat window, or the door page's Finish): the
    booking is completed."""
    return _run_handle(booking, BookingFlow.check_out, Status.IN_PROGRESS, actor=actor, now=now, process_pk=process_pk)


def close_session(*, booking_id: int, actor: User, reason: str = "", now: datetime | None = None) -> Booking:
    """Staff end an in-progress session that never got its second scan."""
    booking = Booking.objects.filter(pk=booking_id).first()
    if booking is None:
        raise NotFound(_("No such booking."))
    if booking.status != Status.IN_PROGRESS:
        raise Conflict(
            _("Only an in-progress session can be closed (this booking is %(status)s).")
            % {"status": booking.get_status_display()},
            code="not_in_progress",
        )
    booking = _run_handle(
        booking,
        BookingFlow.check_out,
        Status.IN_PROGRESS,
        actor=actor,
        closed_by_staff=True,
        now=now or timezone.now(),
    )
    audit.record("booking.closed", actor=actor, obj=booking, reason=reason)
    return booking


# --- timeouts (run by the periodic sweep; each is harmless to run twice) -------------------


def _end_each(due: Any, **how: Any) -> int:
    """End each due booking with `_end`; one a reviewer holds right now waits for the next sweep."""
    done = 0
    for pk in list(due.values_list("pk", flat=True)):
        try:
            done += _end(pk, **how) is not None
        except Busy:
            continue
    return done


def expire_unreviewed(now: datetime | None = None) -> int:
    """Reviews not finished by the slot's start → expired, room freed."""
    now = now or timezone.now()
    return _end_each(
        Booking.objects.filter(status=Status.PENDING, start__lte=now),
        status=Status.EXPIRED,
        action="booking.expired",
        actor=None,
        reason="not reviewed before the slot started",
        expect=(Status.PENDING,),
        when=lambda b: b.start <= now,
        tell="booking.expired",
    )


def mark_no_shows(now: datetime | None = None) -> int:
    """Approved but not scanned in by start + grace → no_show, room freed. A donor kept out by
    someone else's session is not one: his window runs until grace after the room frees."""
    now = now or timezone.now()
    grace = timedelta(minutes=settings.CHECK_IN_GRACE_MINUTES)
    return _end_each(
        Booking.objects.filter(status=Status.APPROVED, start__lte=now - grace),
        status=Status.NO_SHOW,
        action="booking.no_show",
        actor=None,
        reason="no door scan by the end of the check-in window",
        expect=(Status.APPROVED,),
        when=lambda b: occupancy.is_no_show(b, now),
        tell="booking.no_show",
    )


def flag_overstay(booking_id: int, now: datetime, why: str) -> bool:
    """Tell the room managers, once per booking, that a session is past its end; returns
    whether this call did."""
    with transaction.atomic():
        claimed = Booking.objects.filter(
            pk=booking_id, status=Status.IN_PROGRESS, overstay_alerted_at__isnull=True
        ).update(overstay_alerted_at=now)
        if not claimed:
            return False
        booking = Booking.objects.select_related("room", "donor__donor_profile").get(pk=booking_id)
        audit.record("booking.overstay", obj=booking, reason=why)
        notify_holders("bookings.review_room", "room.overstay", booking=booking)
    return True


def flag_overstays(now: datetime | None = None) -> list[int]:
    """Sessions still in progress at end + grace: alert the room managers, once per booking.
    (A donor waiting at the door of an overstayed room has them told at once: see doors.scan.)"""
    now = now or timezone.now()
    grace = timedelta(minutes=settings.CHECK_IN_GRACE_MINUTES)
    due = Booking.objects.filter(status=Status.IN_PROGRESS, end__lte=now - grace, overstay_alerted_at__isnull=True)
    return [
        pk
        for pk in due.values_list("pk", flat=True)
        if flag_overstay(pk, now, "session still in progress after its end")
    ]
