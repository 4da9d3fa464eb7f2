"""The Celery app, configured from celeryconfig.py."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

app = Celery("clinic")
app.config_from_object("celeryconfig")
app.autodiscover_tasks(["workflows", "clinic.bookings", "clinic.notifications", "clinic.payments", "clinic.outreach"])


@task_prerun.connect
@task_postrun.connect
def _connections_per_task(**kwargs: Any) -> None:
    """Around each task, as around each web request: a connection that is broken or past its
    age is closed (with the pool: handed back, and checked before its next use)."""
    from django.db import close_old_connections

    close_old_connections()
