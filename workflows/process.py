"""The booking process from code: its lock, the running process of a booking, and the
answers every change of a booking may give (busy, task done, already over)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError
from django.utils.translation import gettext_lazy
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from clinic.bookings.models import Booking
from clinic.errors import Conflict
from clinic.locking import LOCK_NOT_AVAILABLE
from workflows.flows import BookingFlow
from workflows.models import BookingProcess

logger = logging.getLogger(__name__)


class Busy(Conflict):
    code = "busy"
    default_message = gettext_lazy("Someone else is changing this booking right now; please retry.")


class TaskDone(Conflict):
    code = "task_done"
    default_message = gettext_lazy("This task has already been done.")


class NotActive(Conflict):
    code = "not_active"
    default_message = gettext_lazy("This booking is already over.")


def lock_failure(exc: FlowLockFailed) -> Exception:
    """Viewflow reports every database error on taking the lock as FlowLockFailed. Only a lock
    wait that timed out (SQLSTATE 55P03) means someone else holds the booking; anything else
    (a dropped connection) is the database's failure, answered as such (503)."""
    error = exc.__context__
    sqlstate = getattr(getattr(error, "__cause__", None), "sqlstate", LOCK_NOT_AVAILABLE)
    return error if isinstance(error, DatabaseError) and sqlstate != LOCK_NOT_AVAILABLE else Busy()


@contextmanager
def process_lock(process_pk: int) -> Iterator[None]:
    """The process lock (clinic.locking): its body runs in one transaction."""
    try:
        with BookingFlow.lock(process_pk):
            yield
    except FlowLockFailed as exc:
        raise lock_failure(exc) from None


def current_process(booking: Booking) -> BookingProcess | None:
    return booking.processes.filter(status=PROCESS.NEW).order_by("-pk").first()


def revive_failed_steps() -> int:
    """Run again each step of a running booking process that failed in the background (a timer's
    outcome, when the database dropped half-way): Viewflow leaves such a step in ERROR, and a
    booking would stay pending past its start for good. A step that fails again is logged and
    tried at the next sweep; one whose process someone holds waits for the next sweep too."""
    revived = 0
    failed = Task.objects.filter(
        process__flow_class=BookingFlow, process__status=PROCESS.NEW, status=STATUS.ERROR
    ).order_by("pk")
    for task in failed:
        try:
            with task.activation() as activation:
                if activation.revive.can_proceed():
                    activation.revive()
                    revived += 1
        except FlowLockFailed:
            continue
        except Exception:
            logger.exception("booking process step %s failed again; retried at the next sweep", task.pk)
    return revived
