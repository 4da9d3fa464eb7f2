"""The waitlist: clients waiting for a day (between two times, in one room if they say so). When
a matching slot is free, the first eligible client in line is offered it (`slot.offered`) and
it is held for him for WAITLIST_HOLD_MINUTES: others see the room as taken and booking it is
409 slot_held. Unused, the offer passes to the next in line.

Offers run after any change that may free a slot (a booking cancelled, rejected or moved, an
offer not used or given back, opening hours added) once it has committed, and at every sweep,
which also passes on lapsed offers. A slot freed by a closure is never offered: a closed room
has no slots. Bookings and offers take the waitlist lock (clinic.locking), so a slot is booked
or held, never both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic import locking
from clinic.accounts.models import DonorProfile, User
from clinic.bookings import journey
from clinic.bookings.availability import active_days, day_bounds, slots_between
from clinic.bookings.models import ACTIVE_STATUSES, Booking, SlotHold, WaitlistEntry
from clinic.errors import Conflict, Invalid, NotFound
from clinic.rooms.models import Room
from clinic.rooms.services import local_datetime

log = logging.getLogger(__name__)

State = WaitlistEntry.State


class SlotHeld(Conflict):
    code = "slot_held"
    default_message = gettext_lazy(
        "This time is being kept for someone on the waiting list. Please choose another slot or room."
    )


class AlreadyWaiting(Conflict):
    code = "already_waiting"
    default_message = gettext_lazy("You are already on the waiting list for that day.")


# --- the client's side ---------------------------------------------------------------------


@transaction.atomic
def join(*, client: User, day: date, after: time | None = None, before: time | None = None, room_id: int | None = None):
    """Put the client in line for a day; a matching slot free now is offered to him at once.
    Taken under his row lock, as a booking is: a booking of his at the same instant either
    comes first (he is refused) or ends his place (`booked`)."""
    locking.donor_lock(client.pk)
    profile = DonorProfile.objects.filter(user=client).first()
    if profile is None:
        raise Invalid(_("Only donors and self-preservation clients can join the waiting list."), code="not_a_client")
    journey.purpose_for(profile)  # 409 purpose_not_allowed: a status that books nothing waits for nothing
    today = timezone.localdate()
    if day < today or day > today + timedelta(days=settings.BOOKING_HORIZON_DAYS):
        raise Invalid(
            _("Choose a day from today to %(days)d days ahead.") % {"days": settings.BOOKING_HORIZON_DAYS},
            fields={"date": [_("Out of range.")]},
        )
    if after is not None and before is not None and after >= before:
        raise Invalid(_("The earliest time must be before the latest."), fields={"before": [_("Too early.")]})
    room = None
    if room_id is not None:
        room = Room.objects.filter(pk=room_id, active=True).first()
        if room is None:
            raise Invalid(_("There is no such room."), fields={"room": [_("There is no such room.")]})
    if Booking.objects.filter(donor=client, status__in=ACTIVE_STATUSES).exists():
        raise Conflict(
            _("You already have an active booking. Cancel it or wait until it is over to join the waiting list."),
            code="active_booking_exists",
        )
    # A day that the abstinence interval rules out to its last minute is not worth waiting for.
    first_minute, last_minute = local_datetime(day, time(0, 0)), local_datetime(day, time(23, 59))
    journey.check_interval(journey.visits_near(client, profile, first_minute, last_minute), last_minute)
    try:
        with transaction.atomic():
            entry = WaitlistEntry.objects.create(client=client, date=day, after=after, before=before, room=room)
    except IntegrityError:
        raise AlreadyWaiting() from None
    offer_after_commit(day)
    return entry


def entries_of(client: User) -> QuerySet[WaitlistEntry]:
    """His entries from today on, with their current offer's hold."""
    return (
        WaitlistEntry.objects.filter(client=client, date__gte=timezone.localdate())
        .select_related("room")
        .prefetch_related("holds__room")
        .order_by("date", "created", "id")
    )


def current_hold(entry: WaitlistEntry) -> SlotHold | None:
    return next((hold for hold in entry.holds.all() if hold.state == SlotHold.State.ACTIVE), None)


@transaction.atomic
def leave(*, client: User, entry_id: int) -> None:
    """He leaves the line; a slot held for him passes to the next in line."""
    day = WaitlistEntry.objects.filter(pk=entry_id, client=client).values_list("date", flat=True).first()
    if day is None:
        raise NotFound(_("No such waiting list entry."))
    locking.waitlist_lock([day])  # not in the middle of an offer to him (an entry's day never changes)
    entry = WaitlistEntry.objects.select_for_update().filter(pk=entry_id, client=client).first()
    if entry is None:
        raise NotFound(_("No such waiting list entry."))
    if entry.state in WaitlistEntry.LIVE:
        entry.state = State.LEFT
        entry.save(update_fields=["state", "updated"])
        if SlotHold.objects.filter(entry=entry, state=SlotHold.State.ACTIVE).update(state=SlotHold.State.RELEASED):
            offer_after_commit(entry.date)


# --- bookings and holds --------------------------------------------------------------------


def days_checked(start: datetime, end: datetime) -> list[date]:
    """The local days whose holds a booking of [start, end) is checked against (those overlapping
    it, and with the arrival gap on, those starting up to the gap before or after its start):
    the days of the waitlist lock it takes."""
    gap = timedelta(minutes=settings.ARRIVAL_GAP_MINUTES)
    first = timezone.localdate(start - gap)
    last = timezone.localdate(max(end - timedelta(microseconds=1), start + gap))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def days_offered_against(day: date) -> list[date]:
    """The days whose holds an offer of `day`'s slots reads: that day's, and with the arrival gap
    on, those of the days either side (a hold just past midnight keeps an arrival off the slot
    just before it)."""
    if not settings.ARRIVAL_GAP_MINUTES:
        return [day]
    return [day - timedelta(days=1), day, day + timedelta(days=1)]


def check_not_held(*, client: User, room: Room, start: datetime, end: datetime) -> None:
    """Booking (or moving into) a slot held for someone else is 409 slot_held. Called under the
    waitlist lock."""
    held = SlotHold.objects.filter(state=SlotHold.State.ACTIVE, room=room, start__lt=end, end__gt=start)
    if held.exclude(client=client).exists():
        raise SlotHeld()


def held_starts_near(*, client: User, start: datetime, gap: timedelta) -> bool:
    """Whether a slot held for someone else starts closer than the arrival gap to `start`."""
    held = SlotHold.objects.filter(state=SlotHold.State.ACTIVE, start__gt=start - gap, start__lt=start + gap)
    return held.exclude(client=client).exists()


def booked(booking: Booking) -> None:
    """The client booked: the hold of that slot is used, any other hold of his is given back (and
    offered on), and his place in every line ends. One query for a client in no line."""
    live = WaitlistEntry.objects.filter(client_id=booking.donor_id, state__in=WaitlistEntry.LIVE)
    if not live.update(state=State.BOOKED, updated=timezone.now()):
        return  # a hold belongs to an offered (live) entry: none either
    freed_days = set()
    for hold in SlotHold.objects.filter(client_id=booking.donor_id, state=SlotHold.State.ACTIVE):
        used = hold.room_id == booking.room_id and hold.start == booking.start
        hold.state = SlotHold.State.USED if used else SlotHold.State.RELEASED
        hold.save(update_fields=["state"])
        if not used:
            freed_days.add(timezone.localtime(hold.start).date())
    for day in freed_days:
        offer_after_commit(day)


def release(holds: QuerySet[SlotHold], *, end_entries: bool = False) -> int:
    """Give back holds that can no longer be booked (their room closed or out of service, their
    client suspended): each entry waits again for another slot (or, `end_entries`, its place
    ends), and the days are offered again. Called inside the caller's transaction."""
    locking.waitlist_lock()
    released = list(holds.filter(state=SlotHold.State.ACTIVE).select_related("entry"))
    for hold in released:
        hold.state = SlotHold.State.RELEASED
        hold.save(update_fields=["state"])
        if hold.entry.state == State.OFFERED:
            hold.entry.state = State.ENDED if end_entries else State.WAITING
            hold.entry.save(update_fields=["state", "updated"])
        offer_after_commit(timezone.localtime(hold.start).date())
    return len(released)


def release_room(room_id: int | None, first: date, last: date) -> int:
    """Holds in the room (every room if None) on those local days: closed."""
    days = active_days(first, last)
    if days is None:
        return 0
    start, end = day_bounds(*days)
    holds = SlotHold.objects.filter(start__gte=start, start__lt=end)
    return release(holds.filter(room_id=room_id) if room_id is not None else holds)


def end_for_client(client: User) -> None:
    """A client who may book nothing any more (suspended, retired) leaves every line."""
    release(SlotHold.objects.filter(client=client), end_entries=True)
    WaitlistEntry.objects.filter(client=client, state=State.WAITING).update(state=State.ENDED, updated=timezone.now())


# --- offers --------------------------------------------------------------------------------


@dataclass
class OfferRun:
    offered: int = 0
    lapsed: int = 0
    ended: int = 0


def offer_after_commit(day: date | None = None) -> None:
    """Once the caller's transaction commits, offer the day's freed slots (every waiting day if
    None). A failure here is logged and left to the sweep: what committed stays committed."""

    def run() -> None:
        try:
            offer(day)
        except Exception:  # the sweep offers again within SWEEP_INTERVAL_SECONDS
            log.exception("waitlist offers for %s failed; the sweep will retry", day or "every day")

    transaction.on_commit(run)


def _eligible(entry: WaitlistEntry) -> bool:
    client = entry.client
    profile = getattr(client, "donor_profile", None)
    if not client.is_active or profile is None or not journey.allowed_purposes(profile):
        return False
    if Booking.objects.filter(donor=client, status__in=ACTIVE_STATUSES).exists():
        return False
    return not SlotHold.objects.filter(client=client, state=SlotHold.State.ACTIVE).exists()


def _matches(entry: WaitlistEntry, start: datetime, end: datetime, room_id: int) -> bool:
    """The slot starts at or after `after` and ends by `before` (local times), in his room if he
    named one."""
    if entry.room_id is not None and entry.room_id != room_id:
        return False
    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    if entry.after is not None and local_start.time() < entry.after:
        return False
    return entry.before is None or (local_end.date() == entry.date and local_end.time() <= entry.before)


def offer(day: date | None = None, now: datetime | None = None) -> int:
    """Offer free slots to waiting clients, first in line first: one hold per client, one client
    per slot. Returns how many were offered."""
    now = now or timezone.now()
    days = [day] if day is not None else waiting_days(now)
    return sum(_offer_day(d, now) for d in days)


def waiting_days(now: datetime) -> list[date]:
    return list(
        WaitlistEntry.objects.filter(state=State.WAITING, date__gte=timezone.localdate(now))
        .order_by("date")
        .values_list("date", flat=True)
        .distinct()
    )


@transaction.atomic
def _offer_day(day: date, now: datetime) -> int:
    if day < timezone.localdate(now) or not WaitlistEntry.objects.filter(date=day, state=State.WAITING).exists():
        return 0
    locking.waitlist_lock(days_offered_against(day))  # the day's line and free slots are read under it
    waiting = list(
        WaitlistEntry.objects.filter(date=day, state=State.WAITING)
        .select_related("client__donor_profile")
        .order_by("created", "id")
    )
    free = [
        (slot.start, slot.end, room)
        for slot in slots_between(day, day, now=now)[day]
        if slot.start > now
        for room in slot.free_rooms
    ]
    gap = timedelta(minutes=settings.ARRIVAL_GAP_MINUTES)
    offered = 0
    taken: set[tuple[int, datetime]] = set()
    held_starts: list[datetime] = []  # this run's holds: the arrival gap keeps the others off them

    def open_for(entry: WaitlistEntry, start: datetime, end: datetime, room_id: int) -> bool:
        return (
            (room_id, start) not in taken
            and (not gap or all(abs(start - held) >= gap for held in held_starts))
            and _matches(entry, start, end, room_id)
        )

    for entry in waiting:
        # What he asked for first (no query), then whether he may have it: the sweep looks at
        # every waiting entry of a day with free slots every SWEEP_INTERVAL_SECONDS.
        candidates = [(s, e, room) for s, e, room in free if open_for(entry, s, e, room.id)]
        if not candidates or not _eligible(entry):
            continue
        visits = journey.visits_near(entry.client, entry.client.donor_profile, candidates[0][0], candidates[-1][0])
        # He could book it: the abstinence interval.
        match = next((c for c in candidates if journey.earliest_after(visits, c[0]) is None), None)
        if match is None:
            continue
        start, end, room = match
        if _hold(entry, room.id, start, end, now) is None:
            continue
        taken.add((room.id, start))
        held_starts.append(start)
        offered += 1
    return offered


def _hold(entry: WaitlistEntry, room_id: int, start: datetime, end: datetime, now: datetime) -> SlotHold | None:
    """Hold the slot for the entry and tell its client; None if the entry is no longer waiting."""
    from clinic.notifications.services import notify

    if not WaitlistEntry.objects.filter(pk=entry.pk, state=State.WAITING).update(state=State.OFFERED, updated=now):
        return None
    expires = min(now + timedelta(minutes=settings.WAITLIST_HOLD_MINUTES), start)
    hold = SlotHold.objects.create(
        entry=entry, client=entry.client, room_id=room_id, start=start, end=end, expires=expires
    )
    local = timezone.localtime(start)
    minutes = max(1, round((expires - now).total_seconds() / 60))
    notify(
        [entry.client],
        "slot.offered",
        context={
            "start": local.isoformat(),
            "room": room_id,
            "when": f"{local:%Y-%m-%d %H:%M}",
            "minutes": minutes,
            "expires": timezone.localtime(expires).isoformat(),
        },
    )
    return hold


@transaction.atomic
def pass_on(now: datetime | None = None) -> OfferRun:
    """The sweep's part: offers not used in time lapse (the client's place ends), entries of days
    gone by end, and the freed slots go to the next in line."""
    now = now or timezone.now()
    locking.waitlist_lock()  # every day's holds: one at a time with bookings and offers
    run = OfferRun()
    lapsed = list(SlotHold.objects.filter(state=SlotHold.State.ACTIVE, expires__lte=now).select_related("entry"))
    for hold in lapsed:
        hold.state = SlotHold.State.LAPSED
        hold.save(update_fields=["state"])
        if hold.entry.state == State.OFFERED:
            hold.entry.state = State.LAPSED
            hold.entry.save(update_fields=["state", "updated"])
    run.lapsed = len(lapsed)
    run.ended = WaitlistEntry.objects.filter(state__in=WaitlistEntry.LIVE, date__lt=timezone.localdate(now)).update(
        state=State.ENDED, updated=now
    )
    return run


def sweep(now: datetime | None = None) -> OfferRun:
    now = now or timezone.now()
    run = pass_on(now)
    run.offered = offer(None, now)
    return run
