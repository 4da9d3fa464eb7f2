"""The relay boards' health watch: beat reads a coil of every board in use, under the board lock
with a short deadline. A board that stops answering is marked offline (the room board shows it)
and the room managers are told once per outage (`relay.offline`); when it answers again they
are told it is back (`relay.back`). Nobody learns of a dead board from a donor at a locked door.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Prefetch
from django.utils import timezone

from clinic.audit import services as audit
from clinic.locking import BoardBusy, board_lock
from clinic.notifications.services import notify_holders
from clinic.rooms.models import RelayModule, Room
from hardware.relays import LockError, RelayTarget
from workflows import doors

log = logging.getLogger(__name__)

# A probe that fails is tried once more after this pause before the board counts as offline:
# one lost packet does not wake a room manager.
RETRY_PAUSE_S = 0.5


@dataclass(frozen=True)
class ProbeResult:
    board: RelayModule
    answered: bool | None  # None: the board lock was busy (a door command), no evidence either way
    error: str = ""


def _label(board: RelayModule) -> str:
    return str(board)  # host:port/unit


def probe(board: RelayModule, rooms: list[Room]) -> ProbeResult:
    """Read the coil of the board's first room (every board in use has one), under the board
    lock, within RELAY_PROBE_DEADLINE_MS; a failure is tried once more."""
    room = rooms[0]
    target: RelayTarget = doors.relay_target(room, board)
    error = ""
    for attempt in (1, 2):
        deadline = time.monotonic() + settings.RELAY_PROBE_DEADLINE_MS / 1000
        try:
            with board_lock(board.host, board.port, deadline):
                doors.lock_adapter().read_state(target, deadline_s=max(deadline - time.monotonic(), 0.001))
            return ProbeResult(board, True)
        except BoardBusy:
            return ProbeResult(board, None)
        except DatabaseError:
            log.exception("relay board %s: no board lock (database); probed at the next round", _label(board))
            return ProbeResult(board, None)
        except (LockError, ValueError) as exc:
            error = str(exc)[:200]
        if attempt == 1:
            time.sleep(RETRY_PAUSE_S)
    return ProbeResult(board, False, error)


def _context(board: RelayModule, rooms: list[Room]) -> dict[str, str]:
    return {"board": _label(board), "rooms": ", ".join(room.name for room in rooms)}


def record(result: ProbeResult, rooms: list[Room], now: datetime) -> str:
    """Write the probe's outcome; returns "offline" or "back" when this call changed the board's
    state (and told the room managers), else "". Compare-and-set: two sweeps at once tell once."""
    board = RelayModule.objects.filter(pk=result.board.pk)
    if result.answered is None:
        return ""
    board.update(last_probe_at=now, last_error=result.error)
    if not result.answered:
        if not board.filter(offline_since=None).update(offline_since=now):
            return ""
        log.warning("relay board %s is offline: %s", _label(result.board), result.error)
        audit.record("relay.offline", obj=result.board, outcome="failed", reason=result.error)
        notify_holders("bookings.review_room", "relay.offline", context=_context(result.board, rooms))
        return "offline"
    since = result.board.offline_since
    if since is None or not board.exclude(offline_since=None).update(offline_since=None):
        return ""
    minutes = max(1, round((now - since).total_seconds() / 60))
    log.info("relay board %s answers again after %d min", _label(result.board), minutes)
    audit.record("relay.back", obj=result.board, data={"offline_minutes": minutes})
    notify_holders("bookings.review_room", "relay.back", context={**_context(result.board, rooms), "minutes": minutes})
    return "back"


def watch_relays(now: datetime | None = None) -> dict[str, int]:
    """Probe every board that an active room uses; returns how many were probed, went offline,
    came back."""
    now = now or timezone.now()
    boards = (
        RelayModule.objects.filter(rooms__active=True)
        .distinct()
        .prefetch_related(Prefetch("rooms", queryset=Room.objects.filter(active=True).order_by("name")))
        .order_by("host", "port", "unit")
    )
    counts = {"probed": 0, "offline": 0, "back": 0}
    for board in boards:
        rooms = list(board.rooms.all())
        result = probe(board, rooms)
        counts["probed"] += 1
        change = record(result, rooms, now)
        if change:
            counts[change] += 1
    return counts
