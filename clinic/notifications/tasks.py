"""Celery tasks of the notifications: delivering the notifications one commit wrote, by primary key."""

from __future__ import annotations

from celery import shared_task

from clinic.notifications import services


def _redelivered(task) -> bool:
    return bool((task.request.delivery_info or {}).get("redelivered"))


@shared_task(name="clinic.notifications.tasks.deliver_batch", bind=True)
def deliver_batch(self, notification_ids: list[int], rooms: list[int] | None = None) -> int:
    """What one commit handed over: the rows it wrote (a booking request tells every reviewer)
    and the rooms whose state it changed: one message, one task and one event loop, whatever
    their number. Run twice (a redelivered message), each row is sent once: it is claimed
    first. A message redelivered because its worker was lost mid-run also sends the outward
    copies that run may not have sent (see services.deliver_many). A push that fails stops the
    batch; the rows not delivered wait for the sweep."""
    return services.deliver_many(notification_ids, redelivered=_redelivered(self), rooms=rooms or ())


@shared_task(name="clinic.notifications.tasks.deliver", bind=True)
def deliver(self, notification_id: int) -> bool:
    """One row (messages published before batches existed still name this task)."""
    return services.deliver(notification_id, redelivered=_redelivered(self))


@shared_task(name="clinic.notifications.tasks.push_room_state")
def push_room_state(room_id: int) -> bool:
    """room.state to the room board's watchers (push-only: a lost one is repaired by the board's
    own refresh). Room states now travel in their commit's deliver_batch; messages published
    before that still name this task."""
    return services.push_room_state(room_id)
