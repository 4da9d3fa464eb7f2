"""Booking rules: what may be booked, by whom, and the writes the booking process performs.

Status writes here are called only by the Viewflow process's handlers (workflows/), which hold
the process lock; nothing else changes a booking's status.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic import locking
from clinic.accounts import policy
from clinic.accounts.models import DonorProfile, User
from clinic.audit import services as audit
from clinic.bookings import journey, waitlist
from clinic.bookings.availability import room_slot
from clinic.bookings.models import ACTIVE_STATUSES, Booking, Payment, Purpose, Review, Status
from clinic.errors import Conflict, Invalid, NotFound
from clinic.payments import services as payments
from clinic.rooms.models import Room


class SlotTaken(Conflict):
    code = "slot_taken"
    default_message = gettext_lazy("This room is already booked for that time. Please choose another slot or room.")


class NotASlot(Invalid):
    code = "not_a_slot"
    default_message = gettext_lazy("That room does not offer a slot starting at that time.")


class ActiveBookingExists(Conflict):
    code = "active_booking_exists"
    default_message = gettext_lazy(
        "You already have an active booking. Cancel it or wait until it is over to book again."
    )


TooSoonAfterLastDonation = journey.TooSoonAfterLastDonation


class ArrivalGap(Conflict):
    code = "arrival_gap"
    default_message = gettext_lazy("Another booking starts too close to that time. Please choose another slot.")


def _client_profile(donor: User) -> DonorProfile:
    profile = DonorProfile.objects.filter(user=donor).first()
    if profile is None:
        raise Invalid(_("Bookings are made for a donor or self-preservation client."), code="not_a_client")
    donor.donor_profile = profile  # what the booking's notifications read (his code): not read again
    return profile


def _check_rules(
    *, donor: User, profile: DonorProfile, room: Room, start: datetime, end: datetime, ignore: int | None
) -> None:
    others = Booking.objects.exclude(pk=ignore) if ignore else Booking.objects.all()
    if others.filter(donor=donor, status__in=ACTIVE_STATUSES).exists():
        raise ActiveBookingExists()
    # The abstinence interval counts every collection visit: screening and retest too.
    journey.check_interval(journey.visits_near(donor, profile, start, start, ignore=ignore), start)
    if others.filter(room=room, status__in=ACTIVE_STATUSES, start__lt=end, end__gt=start).exists():
        raise SlotTaken()
    waitlist.check_not_held(client=donor, room=room, start=start, end=end)
    gap = timedelta(minutes=settings.ARRIVAL_GAP_MINUTES)
    if gap and (
        others.filter(status__in=ACTIVE_STATUSES, start__gt=start - gap, start__lt=start + gap).exists()
        or waitlist.held_starts_near(client=donor, start=start, gap=gap)
    ):
        raise ArrivalGap()


def _checked_slot(room: Room, start: datetime) -> tuple[datetime, datetime]:
    if timezone.is_naive(start):
        raise NotASlot(_("Give the start time with its UTC offset (ISO 8601)."))
    now = timezone.now()
    if start <= now:
        raise NotASlot(_("That slot has already started; choose a later one."))
    if start > now + timedelta(days=settings.BOOKING_HORIZON_DAYS):
        raise NotASlot(
            _("Bookings open %(days)d days ahead; choose an earlier date.") % {"days": settings.BOOKING_HORIZON_DAYS}
        )
    slot = room_slot(room, start)
    if slot is None:
        raise NotASlot()
    return slot


def _integrity_error_to_domain(exc: IntegrityError) -> Exception:
    text = str(exc)
    if "booking_one_active_per_donor" in text or "bookings_booking.donor_id" in text:
        return ActiveBookingExists()
    return SlotTaken()


def create_booking(*, donor: User, room_id: int, start: datetime, actor: User, purpose: str | None = None) -> Booking:
    """Check every rule and insert the booking, race-free. Runs inside the caller's transaction
    (the booking process's start), which must be atomic. `purpose`: the kind of visit, by
    default the one the client's status allows (clinic.bookings.journey)."""
    room = Room.objects.filter(pk=room_id).first()
    if room is None:
        raise NotASlot(_("There is no such room."))
    # His profile is read under his lock: a status staff change meanwhile (journey.set_status
    # locks the same row) is the one his booking follows.
    locking.donor_lock(donor.pk)
    profile = _client_profile(donor)
    purpose = journey.purpose_for(profile, purpose)
    start_at, end_at = _checked_slot(room, start)
    locking.arrival_gap_lock()
    locking.waitlist_lock(waitlist.days_checked(start_at, end_at))
    _check_rules(donor=donor, profile=profile, room=room, start=start_at, end=end_at, ignore=None)
    booking = Booking(
        donor=donor,
        room=room,
        start=start_at,
        end=end_at,
        purpose=purpose,
        payment=Payment.PENDING if purpose == Purpose.SELF_PRESERVATION else Payment.NOT_REQUIRED,
        created_by=actor,
    )
    try:
        with transaction.atomic():
            booking.save()
    except IntegrityError as exc:
        raise _integrity_error_to_domain(exc) from None
    waitlist.booked(booking)
    if booking.payment == Payment.PENDING:
        # A paid order of a booking of his that will not happen pays this one (his credit).
        payments.apply_credit(booking)
    audit.record(
        "booking.created",
        actor=actor,
        obj=booking,
        data={"room": room.pk, "start": start_at.isoformat(), "purpose": purpose, "on_behalf": actor.pk != donor.pk},
    )
    return booking


def move(booking: Booking, *, room_id: int, start: datetime | None = None) -> Booking:
    """Move a booking to another room (and optionally slot) under the same guarantees."""
    room = Room.objects.filter(pk=room_id).first()
    if room is None:
        raise Invalid(_("There is no such room."), code="not_a_slot", fields={"room": [_("There is no such room.")]})
    start_at, end_at = _checked_slot(room, start or booking.start)
    locking.donor_lock(booking.donor_id)
    profile = _client_profile(booking.donor)
    locking.arrival_gap_lock()
    locking.waitlist_lock(waitlist.days_checked(start_at, end_at))
    _check_rules(donor=booking.donor, profile=profile, room=room, start=start_at, end=end_at, ignore=booking.pk)
    freed_day = timezone.localtime(booking.start).date()
    booking.room, booking.start, booking.end = room, start_at, end_at
    try:
        with transaction.atomic():
            booking.save(update_fields=["room", "start", "end", "updated"])
    except IntegrityError as exc:
        raise _integrity_error_to_domain(exc) from None
    waitlist.offer_after_commit(freed_day)  # the slot it left may be someone's in the waiting list
    return booking


def set_status(booking: Booking, status: str, **fields: Any) -> Booking:
    """Write a booking's status (and review fields). Only the process's handlers call this. A
    booking that ends before its slot frees it for the waiting list."""
    was_active = booking.status in ACTIVE_STATUSES
    booking.status = status
    for key, value in fields.items():
        setattr(booking, key, value)
    booking.save(update_fields=["status", *fields, "updated"])
    if was_active and status not in ACTIVE_STATUSES and booking.start > timezone.now():
        waitlist.offer_after_commit(timezone.localtime(booking.start).date())
    return booking


def close_reviews(booking: Booking) -> dict[str, str]:
    """Pending reviews become cancelled when the booking ends before they were done."""
    return {
        "staff_review": Review.CANCELLED if booking.staff_review == Review.PENDING else booking.staff_review,
        "room_review": Review.CANCELLED if booking.room_review == Review.PENDING else booking.room_review,
    }


def get_visible(user: User, booking_id: int) -> Booking:
    """The booking if the user may see it; others' bookings are simply not found."""
    booking = Booking.objects.select_related("room", "donor__donor_profile").filter(pk=booking_id).first()
    if booking is None or not can_see(user, booking):
        raise NotFound(_("No such booking."))
    return booking


def can_see(user: User, booking: Booking) -> bool:
    return booking.donor_id == user.pk or policy.can_see_all_bookings(user)


def visible_bookings(user: User):
    qs = Booking.objects.select_related("room", "donor__donor_profile").order_by("-start", "-id")
    if policy.can_see_all_bookings(user):
        return qs
    return qs.filter(donor=user)


class PaymentRequired(Conflict):
    code = "payment_required"
    default_message = gettext_lazy("This booking is awaiting payment; it can be approved once the fee is paid.")


def apply_review(
    booking: Booking, *, kind: str, decision: str, comment: str = "", reason: str = "", room_id: int | None = None
) -> Booking:
    """Record one review's decision on the booking (called under the process lock): `comment` is
    the reviewer's staff-only note, `reason` (a rejection's) what the donor is told.

    The room manager may approve with another room free in the same slot: the booking moves
    under the same no-overlap guarantees. Staff cannot approve before a required payment."""
    if decision not in (Review.APPROVED, Review.REJECTED):
        raise Invalid(_("The decision must be approved or rejected."))
    if decision == Review.REJECTED:
        if not reason.strip():
            raise Invalid(
                _("Give the reason the donor will be told."), fields={"reason": [_("This field is required.")]}
            )
        booking.reject_reason = reason.strip()[:500]
        booking.save(update_fields=["reject_reason"])
    if kind == "staff":
        if decision == Review.APPROVED and booking.payment == Payment.PENDING:
            raise PaymentRequired()
        booking.staff_review, booking.staff_comment = decision, comment[:500]
        booking.save(update_fields=["staff_review", "staff_comment", "updated"])
    elif kind == "room":
        if decision == Review.APPROVED and room_id is not None and room_id != booking.room_id:
            move(booking, room_id=room_id)
        booking.room_review, booking.room_comment = decision, comment[:500]
        booking.save(update_fields=["room_review", "room_comment", "updated"])
    else:
        raise Invalid(_("Unknown review %(kind)s.") % {"kind": repr(kind)})
    return booking


def reset_reviews(booking: Booking) -> Booking:
    """A rescheduled booking is reviewed again from scratch."""
    booking.status = Status.PENDING
    booking.staff_review = booking.room_review = Review.PENDING
    booking.staff_comment = booking.room_comment = booking.reject_reason = ""
    booking.save(
        update_fields=[
            "status",
            "staff_review",
            "room_review",
            "staff_comment",
            "room_comment",
            "reject_reason",
            "updated",
        ]
    )
    return booking
