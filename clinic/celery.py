"""The Celery app, configured from celeryconfig.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

app = Celery("clinic")
app.config_from_object("celeryconfig")
app.autodiscover_tasks(["workflows", "clinic.notifications", "clinic.payments"])
