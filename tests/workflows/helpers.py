"""Checks shared by the process tests."""

from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from workflows.models import BookingProcess

OPEN = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED, STATUS.SCHEDULED, STATUS.ERROR)


def open_tasks(booking):
    return Task.objects.filter(process__in=BookingProcess.objects.filter(booking=booking), status__in=OPEN)


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
    assert not open_tasks(booking).exists(), list(open_tasks(booking).values_list("flow_task", "status"))
