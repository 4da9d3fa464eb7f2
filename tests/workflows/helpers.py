"""Checks shared by the process tests."""

from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from workflows.models import BookingProcess

OPEN = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED, STATUS.SCHEDULED, STATUS.ERROR)


def open_tasks(booking, timers: bool = False):
    """The booking's open tasks; its armed timers too with `timers`."""
    tasks = Task.objects.filter(process__in=BookingProcess.objects.filter(booking=booking), status__in=OPEN)
    return tasks if timers else tasks.exclude(flow_task_type="TIMER")


def armed_timers(booking) -> dict[str, object]:
    """{timer node name: when it fires} of the booking's armed timers."""
    timers = open_tasks(booking, timers=True).filter(flow_task_type="TIMER")
    return {task.flow_task.name: task.scheduled for task in timers}


def task_id(booking, name: str) -> int:
    return Task.objects.get(
        process__in=BookingProcess.objects.filter(booking=booking),
        flow_task_type="HUMAN",
        status=STATUS.NEW,
        flow_task=getattr(__import__("workflows.flows", fromlist=["BookingFlow"]).BookingFlow, name),
    ).pk


def assert_finished(booking) -> None:
    """The process is in a final state and no task is left open."""
    processes = BookingProcess.objects.filter(booking=booking)
    assert processes.exists()
    assert all(p.status in (PROCESS.DONE, PROCESS.CANCELED) for p in processes), [p.status for p in processes]
    left = open_tasks(booking, timers=True)
    assert not left.exists(), list(left.values_list("flow_task", "status"))


def hold_deliveries(monkeypatch) -> list[int]:
    """Keep notification deliveries off the shared broker (Redis db 0) in transactional tests,
    where on_commit callbacks really run: the rows stay undelivered (as with a broker that is
    down, for the sweep to deliver). Returns the list of ids that would have been enqueued."""
    from clinic.notifications import services

    held: list[int] = []
    monkeypatch.setattr(services, "enqueue", lambda ids, rooms=None: held.extend(ids))
    return held


def clock_at(at):
    """Django's clock reads `at` within the block (timers, handlers, the sweep)."""
    from unittest import mock

    return mock.patch("django.utils.timezone.now", return_value=at)


def fire_timers(at) -> int:
    """Beat's timer dispatch (Viewflow's fire_due_timers) as if the clock read `at`."""
    from viewflow.workflow.timers import fire_due_timers

    with clock_at(at):
        return fire_due_timers()
