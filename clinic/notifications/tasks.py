"""Celery tasks of the notifications: delivering one notification, by primary key."""

from __future__ import annotations

from celery import shared_task

from clinic.notifications import services


@shared_task(name="clinic.notifications.tasks.deliver")
def deliver(notification_id: int) -> bool:
    """Run twice (a redelivered message), it sends once: the row is claimed first."""
    return services.deliver(notification_id)
