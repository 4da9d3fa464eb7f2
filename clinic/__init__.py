"""The clinic's Django project and its domain apps."""

from clinic.celery import app as celery_app

__all__ = ["celery_app"]
