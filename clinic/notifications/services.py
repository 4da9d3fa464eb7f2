"""Notifications: rows written in the caller's transaction, pushed live after it commits.

The database is the source of truth. The push (a Celery task, then the channel layer) is a
courier that may be late or absent: Redis being down never fails the caller; the periodic
sweep delivers what was left, and a reconnecting client catches up with `?after=<id>`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from clinic.accounts.models import User
from clinic.bookings.models import Booking, Status
from clinic.errors import NotFound
from clinic.notifications import texts
from clinic.notifications.channels import outward_channels
from clinic.notifications.models import Notification

logger = logging.getLogger(__name__)

# A channel layer that does not answer within this time counts as down (rows stay undelivered).
PUSH_TIMEOUT_S = 2.0
# After a failed publish this process stops publishing for a while: during an outage requests
# pay the broker's timeout (about a second) once per interval, not once per notification.
BROKER_BACKOFF_S = 10.0
_broker_down_until = 0.0


def group_name(user_id: int) -> str:
    return f"user.{user_id}"


# The sockets of the room board's watchers (clinic.accounts.policy.can_watch_room_board), joined
# when a socket opens: a room.state is one send, not one per watcher found by a query.
ROOM_WATCHERS = "rooms.watchers"


# Kinds whose notifications carry their own fields (`data`) for an app to act on: an offered
# slot is booked from the notification.
OWN_DATA: dict[str, tuple[str, ...]] = {"slot.offered": ("start", "room", "expires")}


def own_data(notification: Notification) -> dict[str, Any] | None:
    fields = OWN_DATA.get(notification.kind)
    if fields is None:
        return None
    return {key: notification.data.get(key) for key in fields}


def payload(notification: Notification) -> dict[str, Any]:
    """The JSON object pushed over the socket; the list API returns the same shape."""
    shown = {
        "id": notification.pk,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "booking": notification.booking_id,
        "created": timezone.localtime(notification.created).isoformat(),
        "read": notification.read,
    }
    data = own_data(notification)
    return shown if data is None else shown | {"data": data}


# --- creating -------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


def _context(booking: Booking | None, context: dict | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if booking is not None:
        start, end = timezone.localtime(booking.start), timezone.localtime(booking.end)
        values = {
            "booking": booking.pk,
            "when": f"{start:%Y-%m-%d %H:%M}",
            "time": f"{start:%H:%M}",
            "end": f"{end:%H:%M}",
            "room": booking.room.name,
            # The pseudonymous code, never a name: room managers receive these too.
            "code": booking.donor.donor_code or "",
        }
    values.update(context or {})
    return {key: _plain(value) for key, value in values.items()}


def _unsaved(
    recipients: Iterable[User], kind: str, booking: Booking | None, context: dict | None
) -> list[Notification]:
    if kind not in texts.TEXTS:
        raise ValueError(f"unknown notification kind {kind!r}")
    people = {user.pk: user for user in recipients if user is not None and user.is_active}
    values = _context(booking, context) if people else {}
    rows = []
    for user in people.values():
        title, body = texts.render(kind, values, for_donor=booking is None or user.pk == booking.donor_id)
        rows.append(Notification(recipient=user, kind=kind, title=title, body=body, booking=booking, data=values))
    return rows


def _record(rows: list[Notification]) -> list[Notification]:
    """Write the rows in the caller's transaction; after commit, they go in its delivery message."""
    if not rows:
        return []
    rows = Notification.objects.bulk_create(rows)
    _after_commit(ids=[row.pk for row in rows])
    return rows


def notify(
    recipients: Iterable[User], kind: str, *, booking: Booking | None = None, context: dict | None = None
) -> list[Notification]:
    """Record one notification per (active, distinct) recipient in the caller's transaction;
    after commit, enqueue their delivery. `context` fills the text's placeholders: give ids,
    times and codes, never a person's name or phone."""
    return _record(_unsaved(recipients, kind, booking, context))


def holders(permission: str) -> list[User]:
    """Active users holding `permission` ("app_label.codename") through a role or directly.
    Being a superuser does not count: a superuser is notified only through a role."""
    return list(User.objects.with_perm(permission, include_superusers=False).order_by("pk"))


def notify_holders(
    permission: str, kind: str, *, booking: Booking | None = None, context: dict | None = None
) -> list[Notification]:
    return notify(holders(permission), kind, booking=booking, context=context)


def notify_holders_each(
    announcements: Iterable[tuple[str, str]], *, booking: Booking | None = None, context: dict | None = None
) -> list[Notification]:
    """Several (permission, kind) announcements of one event (a booking request tells the staff
    and the room managers, each in their words): recorded together, delivered by one message."""
    rows: list[Notification] = []
    for permission, kind in announcements:
        rows += _unsaved(holders(permission), kind, booking, context)
    return _record(rows)


def _publish(what: str, send: Any) -> None:
    """Hand work to the workers. A broker that is down costs at most one short publish timeout
    (celeryconfig) and is logged, never raised."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        logger.info("broker recently unavailable; %s left undelivered", what)
        return
    try:
        send()
    except Exception as exc:
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_S
        logger.warning("broker unavailable (%s); %s left undelivered", exc, what)


class _CommitBatch:
    """What one transaction hands the workers once it commits: the notifications it wrote and
    the rooms whose state it changed, in one delivery message (a finished session tells the
    donor, the staff and the room board at once).

    One batch per transaction of a connection (so per thread): it is the current one while its
    send is still among the connection's pending commit callbacks (Django's on_commit list).
    A commit runs the send; a rollback drops it, and the next transaction starts a new batch.
    A savepoint rolled back drops the send only if the batch began inside it (then everything in
    it was rolled back too); otherwise the batch keeps what the savepoint added: rows that no
    longer exist, which the delivery skips (they cannot be claimed), and a room whose state is
    pushed once more, read afresh."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.rooms: list[int] = []
        self.sent = False

    def send(self) -> None:
        if not self.sent:
            self.sent = True
            rooms = list(dict.fromkeys(self.rooms))
            if rooms:
                enqueue(self.ids, rooms)
            elif self.ids:
                enqueue(self.ids)

    def pending_on(self, connection: Any) -> bool:
        return not self.sent and any(
            getattr(callback, "__self__", None) is self for _, callback, _ in connection.run_on_commit
        )


def _after_commit(ids: Iterable[int] = (), room: int | None = None) -> None:
    """Add to the current transaction's delivery message (outside a transaction: send now)."""
    connection = transaction.get_connection()
    current: _CommitBatch | None = getattr(connection, "clinic_commit_batch", None)
    if not connection.in_atomic_block:
        batch = _CommitBatch()
    elif current is not None and current.pending_on(connection):
        batch = current
    else:
        batch = connection.clinic_commit_batch = _CommitBatch()
        transaction.on_commit(batch.send)
    batch.ids.extend(ids)
    if room is not None:
        batch.rooms.append(room)
    if not connection.in_atomic_block:
        batch.send()


def enqueue(ids: list[int], rooms: list[int] | None = None) -> None:
    """Hand one commit's rows (and the rooms whose state it changed) to the workers in one
    message; with the broker down the rows stay for the sweep, and the room board catches up by
    its own refresh."""
    from clinic.notifications.tasks import deliver_batch  # tasks import this module

    ids = list(ids)
    if rooms:
        what = f"{len(ids)} notification(s) and room.state of room(s) {rooms}"
        _publish(what, lambda: deliver_batch.delay(ids, list(rooms)))
    elif ids:
        _publish(f"{len(ids)} notification(s), for the sweep", lambda: deliver_batch.delay(ids))


def announce_room_state(room_id: int) -> None:
    """`room.state`: a room's occupancy changed (check-in, finish, close). Push-only, to room
    managers and to everyone who sees all bookings, after the caller's transaction commits, in
    its delivery message; no row is kept (the room board is read afresh on each, and every 30 s
    anyway)."""
    _after_commit(room=room_id)


def room_state_event(room_id: int) -> dict[str, Any] | None:
    """What a `room.state` push carries: the room and its state, never a donor."""
    from clinic.rooms.board import room_state_line

    line = room_state_line(room_id)
    if line is None:
        return None
    return {"kind": "room.state", "data": {"room": room_id, "name": line["name"], "state": line["state"]}}


def push_room_state(room_id: int) -> bool:
    """Send the room's state to the watchers' sockets; returns whether there was one to send
    (a room deleted meanwhile has none)."""
    event = room_state_event(room_id)
    if event is None:
        return False
    async_to_sync(_group_send)(*room_state_message(event))
    return True


def room_state_message(event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return ROOM_WATCHERS, {"type": "notification.push", "notification": event}


# --- delivering -----------------------------------------------------------------------------


async def _group_send(group: str, message: dict[str, Any]) -> None:
    await asyncio.wait_for(get_channel_layer().group_send(group, message), timeout=PUSH_TIMEOUT_S)


async def _send_until_failure(sends: list[tuple[str, dict[str, Any]]]) -> tuple[int, Exception | None]:
    """Send each (group, message) in order; returns how many went, and what stopped the rest."""
    for sent, (group, message) in enumerate(sends):
        try:
            await _group_send(group, message)
        except Exception as exc:
            return sent, exc
    return len(sends), None


def push_message(notification: Notification) -> tuple[str, dict[str, Any]]:
    return group_name(notification.recipient_id), {"type": "notification.push", "notification": payload(notification)}


def send_outward(notification: Notification) -> None:
    if not texts.TEXTS[notification.kind].outward:
        return
    for channel in outward_channels():
        try:
            channel.send(notification)
        except Exception:
            logger.warning("%s could not send notification %s", channel.name, notification.pk, exc_info=True)


def deliver(notification_id: int, *, redelivered: bool = False) -> bool:
    """Push one notification and send it outward (see deliver_many); returns whether this call
    delivered it."""
    return deliver_many([notification_id], redelivered=redelivered) == 1


def deliver_many(notification_ids: list[int], *, redelivered: bool = False, rooms: Iterable[int] = ()) -> int:
    """Push the notifications (one event loop for all of them) and send them outward, then the
    state of `rooms` to the room board's watchers. The rows are claimed first, in one statement
    (compare-and-set on delivered_at), so a second delivery of the same row is a no-op. Returns
    how many notifications this call delivered.

    Whatever stops the batch before a claimed row is pushed (the channel layer down, the
    database gone while reading the rows) gives that row and the ones after it back, for the
    sweep, and is raised once the rows pushed before it have gone outward. A room state that
    cannot be pushed is not kept (the board refreshes itself).

    `redelivered`: this is a task message handed out again because the worker running it was
    lost (acks_late, task_reject_on_worker_lost). That run may have died after claiming rows and
    before their e-mail/SMS copies went out: those are sent now unless marked sent (the live
    push of a row it claimed but had not pushed is lost; the app's catch-up, `?after=`, shows
    the row)."""
    ids = list(dict.fromkeys(notification_ids))
    claimed_at = timezone.now()
    claimed: list[Notification] = []
    pushed_before: list[Notification] = []
    sent, failure = 0, None
    try:
        if ids and Notification.objects.filter(pk__in=ids, delivered_at__isnull=True).update(delivered_at=claimed_at):
            rows = Notification.objects.select_related("recipient").filter(pk__in=ids)
            for row in sorted(rows if redelivered else rows.filter(delivered_at=claimed_at), key=lambda n: n.pk):
                (claimed if row.delivered_at == claimed_at else pushed_before).append(row)
        elif ids and redelivered:
            pushed_before = list(Notification.objects.select_related("recipient").filter(pk__in=ids).order_by("pk"))
        sends = [push_message(n) for n in claimed]
        for room_id in dict.fromkeys(rooms):
            event = room_state_event(room_id)
            if event is not None:
                sends.append(room_state_message(event))
        if sends:
            sent, failure = async_to_sync(_send_until_failure)(sends)
    except Exception as exc:
        failure = exc
    pushed = claimed[:sent]
    if failure is not None and ids:
        # What this run claimed and did not push is given back, so that the sweep retries it.
        try:
            given_back = Notification.objects.filter(pk__in=ids, delivered_at=claimed_at)
            given_back.exclude(pk__in=[n.pk for n in pushed]).update(delivered_at=None)
        except Exception:  # the database gone too: the failure raised below is the one to see
            logger.warning("notifications %s claimed but not pushed could not be given back", ids, exc_info=True)
    for notification in pushed_before + pushed:
        if notification.delivered_at is not None:  # pushed by a run that was not given back meanwhile
            _send_outward_once(notification)
    if failure is not None:
        raise failure
    return len(pushed)


def _send_outward_once(notification: Notification) -> None:
    """The outward copies, marked sent afterwards: a run killed in the middle of sending leaves
    the mark unset for its redelivered message to finish the job."""
    if notification.outward_sent_at is not None or not texts.TEXTS[notification.kind].outward:
        return
    send_outward(notification)
    Notification.objects.filter(pk=notification.pk, outward_sent_at__isnull=True).update(outward_sent_at=timezone.now())


def deliver_pending(limit: int = 500) -> int:
    """The sweep's part: deliver rows left undelivered (broker or Redis was down). Stops at the
    first push failure, leaving the rest for the next sweep."""
    pending = Notification.objects.filter(delivered_at__isnull=True).order_by("pk").values_list("pk", flat=True)
    delivered = 0
    for pk in list(pending[:limit]):
        try:
            delivered += deliver(pk)
        except Exception as exc:
            logger.warning("push unavailable (%s); undelivered notifications wait for the next sweep", exc)
            break
    return delivered


def send_reminders(now: datetime | None = None) -> int:
    """booking.reminder, REMINDER_MINUTES before an approved booking starts, once per booking."""
    now = now or timezone.now()
    window = timedelta(minutes=settings.REMINDER_MINUTES)
    due = Booking.objects.filter(
        status=Status.APPROVED, reminded_at__isnull=True, start__gt=now, start__lte=now + window
    ).select_related("donor__donor_profile", "room")
    sent = 0
    for booking in due:
        with transaction.atomic():
            claimed = Booking.objects.filter(pk=booking.pk, status=Status.APPROVED, reminded_at__isnull=True).update(
                reminded_at=now
            )
            if claimed:
                notify([booking.donor], "booking.reminder", booking=booking)
                sent += 1
    return sent


def sweep() -> dict[str, int]:
    """Reminders first, so that the delivery pass below also covers them."""
    return {"reminders_sent": send_reminders(), "notifications_delivered": deliver_pending()}


# --- reading --------------------------------------------------------------------------------


def inbox(user: User, *, after: int | None = None, unread: bool = False) -> QuerySet[Notification]:
    rows = Notification.objects.filter(recipient=user).order_by("-pk")
    if unread:
        rows = rows.filter(read_at__isnull=True)
    return rows if after is None else rows.filter(pk__gt=after)


def mark_read(user: User, notification_id: int) -> Notification:
    """Only the recipient may; for anyone else the notification does not exist."""
    notification = None
    if 0 < notification_id < 2**63:  # beyond a bigint the database would error, not answer
        notification = Notification.objects.filter(pk=notification_id, recipient=user).first()
    if notification is None:
        raise NotFound("No such notification.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at=None).update(read_at=notification.read_at)
    return notification
