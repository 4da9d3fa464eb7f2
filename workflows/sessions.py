"""A booking at the door: the session's start (check-in), a repeat opening, its end (check-out
by the donor, or closed by staff), and sessions running past their end."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from clinic.accounts.models import User
from clinic.audit import services as audit
from clinic.bookings.models import Booking, Status
from clinic.errors import Conflict, NotFound
from clinic.notifications.services import notify_holders
from clinic.rawsql import Columns
from workflows.bookings import tell_change
from workflows.flows import BookingFlow
from workflows.models import BookingProcess
from workflows.process import NotActive, current_process, process_lock

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
    """The process's open task for `node`, if the booking is still `expect`: one query, written
    as SQL (it is on the door scan's way to the relay, see clinic.rawsql)."""
    flow_task = Task._meta.get_field("flow_task").get_prep_value(node)
    with connection.cursor() as cursor:
        cursor.execute(_due_task_sql(connection.vendor), [process_pk, flow_task, STATUS.NEW, booking_pk, expect])
        row = cursor.fetchone()
    return _TASK.instance(row) if row is not None else None


def _run_step(
    booking: Booking,
    node: Any,
    expect: str,
    before: Callable[[], None] | None = None,
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
    with process_lock(process_pk):
        task = _due_task(process_pk, node, booking.pk, expect)
        if task is None:
            booking.refresh_from_db()
            raise Conflict(
                _("This booking is %(status)s.") % {"status": booking.get_status_display()}, code="wrong_state"
            )
        if before is not None:
            before()
        if step:
            return _run_handle(node, task, **kwargs)
    # Read afresh, whole (the caller's copy may hold only some fields).
    return Booking.objects.select_related("room", "donor__donor_profile").get(pk=booking.pk)


def _run_handle(node: Any, task: Task, **kwargs: Any) -> Booking:
    """The door step `node` (a Handle) on `task`, under the process lock the caller holds and
    with the task it read under that lock. This is what the node's own run() does (activation,
    run the handler, execute) without taking the lock a second time and reading the task and
    the process again. The process comes with the booking as the step writes and answers it:
    room name, donor code (and identity for staff)."""
    task.process = BookingProcess.objects.select_related("booking__room", "booking__donor__donor_profile").get(
        pk=task.process_id
    )
    activation = node.activation_class(task)
    booking = activation.run(getattr(BookingFlow.instance, HANDLERS[node.name]), **kwargs)
    activation.execute()
    return booking


# The door steps' handlers on the flow (BookingFlow declares them: check_in = Handle(this.do_check_in)).
HANDLERS = {"check_in": "do_check_in", "check_out": "do_check_out"}


def check_in(
    *,
    booking: Booking,
    actor: User,
    now: datetime | None = None,
    before: Callable[[], None] | None = None,
    process_pk: int | None = None,
) -> Booking:
    """The first door scan: the session begins. `before` (the room lock, the admission check
    and the door unlock) runs inside the same locked transaction first: if it fails, nothing
    changes."""
    return _run_step(
        booking, BookingFlow.check_in, Status.APPROVED, actor=actor, now=now, before=before, process_pk=process_pk
    )


def reopen(*, booking: Booking, before: Callable[[], None], process_pk: int | None = None) -> Booking:
    """The occupant's repeat scan soon after his check-in: `before` (the unlock) runs under the
    process lock while the session is still in progress; the session goes on."""
    return _run_step(
        booking, BookingFlow.check_out, Status.IN_PROGRESS, before=before, process_pk=process_pk, step=False
    )


def check_out(*, booking: Booking, actor: User, now: datetime | None = None, process_pk: int | None = None) -> Booking:
    """The donor finishes (a scan after the repeat window, or the door page's Finish): the
    booking is completed."""
    return _run_step(booking, BookingFlow.check_out, Status.IN_PROGRESS, actor=actor, now=now, process_pk=process_pk)


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
    booking = _run_step(
        booking,
        BookingFlow.check_out,
        Status.IN_PROGRESS,
        actor=actor,
        closed_by_staff=True,
        now=now or timezone.now(),
    )
    audit.record("booking.closed", actor=actor, obj=booking, reason=reason)
    tell_change(booking, "closed", actor=actor, reason=reason)
    return booking


# --- sessions past their end (the sweep, and a donor waiting at the door) -----------------


def flag_overstay(booking_id: int, now: datetime, why: str) -> bool:
    """Tell the room managers, once per booking, that a session is past its end; returns
    whether this call did. (An alert, not a status: the session goes on.)"""
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
