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


def restore_default_roles() -> None:
    """Give the roles their default permissions again, as the data migrations did.

    A transactional test (real threads, or a Celery worker in another process) ends with a flush
    of every table: a plain flush recreates content types and permissions but not the roles, and
    a flush after a serialized-rollback test recreates neither. Put both back."""
    from django.contrib.auth.models import Group, Permission
    from django.core.management.sql import emit_post_migrate_signal

    from clinic.accounts.roles import DEFAULT_PERMISSIONS

    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    for role, names in DEFAULT_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for name in names:
            label, codename = name.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=label, codename=codename))


def hold_deliveries(monkeypatch) -> list[int]:
    """Keep notification deliveries off the shared broker (Redis db 0) in transactional tests,
    where on_commit callbacks really run: the rows stay undelivered (as with a broker that is
    down, for the sweep to deliver). Returns the list of ids that would have been enqueued."""
    from clinic.notifications import services

    held: list[int] = []
    monkeypatch.setattr(services, "enqueue", held.extend)
    return held
