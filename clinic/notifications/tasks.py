"""Celery tasks of the notifications: delivering one notification, by primary key."""

from __future__ import annotations

from celery import shared_task

from clinic.notifications import services


@shared_task(name="clinic.notifications.tasks.deliver", bind=True)
def deliver(self, notification_id: int) -> bool:
    """Run twice (a redelivered message), it sends once: the row is claimed first. A message
    redelivered because its worker was lost mid-run also sends the outward copies that run may
    not have sent (see services.deliver)."""
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    return services.deliver(notification_id, redelivered=redelivered)
