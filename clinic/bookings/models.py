"""Bookings: a donor's appointment at a precise slot, in one private room."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.rooms.models import Room

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager

    from workflows.models import BookingProcess


class Status(models.TextChoices):
    PENDING = "pending", _("pending")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    CANCELLED = "cancelled", _("cancelled")
    EXPIRED = "expired", _("expired")
    IN_PROGRESS = "in_progress", _("in progress")
    COMPLETED = "completed", _("completed")
    NO_SHOW = "no_show", _("no show")


ACTIVE_STATUSES = (Status.PENDING, Status.APPROVED, Status.IN_PROGRESS)


class Review(models.TextChoices):
    PENDING = "pending", _("pending")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    CANCELLED = "cancelled", _("cancelled")


class Purpose(models.TextChoices):
    SCREENING = "screening", _("screening")
    DONATION = "donation", _("donation")
    RETEST = "retest", _("retest")
    SELF_PRESERVATION = "self_preservation", _("self-preservation")


# Every purpose is a visit to a collection room: the abstinence interval counts them all.
COLLECTION_PURPOSES = (Purpose.SCREENING, Purpose.DONATION, Purpose.RETEST)


class Payment(models.TextChoices):
    NOT_REQUIRED = "not_required", _("not required")
    PENDING = "pending", _("pending")
    PAID = "paid", _("paid")


# django-stubs cannot build the reverse manager of a model whose base class (Viewflow's Process)
# is untyped; it is declared below instead.
class Booking(models.Model):  # type: ignore[django-manager-missing]
    if TYPE_CHECKING:  # the reverse side of BookingProcess.booking
        processes: RelatedManager[BookingProcess]

    donor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="bookings")
    start = models.DateTimeField()
    end = models.DateTimeField()
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.DONATION)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    staff_review = models.CharField(max_length=10, choices=Review.choices, default=Review.PENDING)
    room_review = models.CharField(max_length=10, choices=Review.choices, default=Review.PENDING)
    # The reviewers' notes: staff-only, never shown to the donor or to room managers.
    staff_comment = models.CharField(max_length=500, blank=True)
    room_comment = models.CharField(max_length=500, blank=True)
    # Why the booking was rejected, as the reviewer wrote it for the donor (he is told this).
    reject_reason = models.CharField(max_length=500, blank=True)
    payment = models.CharField(max_length=12, choices=Payment.choices, default=Payment.NOT_REQUIRED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_out_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    overstay_alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["start", "id"]
        permissions = [
            ("book", "Can book a slot for himself"),
            ("view_all_bookings", "Can see all bookings"),
            ("view_donor_identity", "Can see donors' names, phone and ID numbers"),
            ("manage_bookings", "Can cancel, reschedule, book on behalf and close sessions"),
            ("review_donation", "Can review donation bookings"),
            ("review_room", "Can review room bookings"),
            ("manage_donors", "Can change a donor's status (qualified, retest due, suspended...)"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="booking_end_after_start"),
            # One active booking per client; PostgreSQL also excludes overlaps per room
            # (see migration 0002), SQLite relies on IMMEDIATE transactions for that.
            models.UniqueConstraint(
                fields=["donor"], condition=models.Q(status__in=ACTIVE_STATUSES), name="booking_one_active_per_donor"
            ),
        ]
        indexes = [
            models.Index(fields=["room", "start"], name="booking_room_start"),
            models.Index(fields=["status", "start"], name="booking_status_start"),
            models.Index(fields=["start"], name="booking_start"),
        ]

    def __str__(self) -> str:
        # In the clinic's time: the admin and the task inbox show it.
        return f"#{self.pk} {timezone.localtime(self.start):%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class WaitlistEntry(models.Model):
    """A client waiting for a slot on a day (optionally between two times, optionally in one
    room): when one frees, the first eligible in line is offered it and it is held for him."""

    class State(models.TextChoices):
        WAITING = "waiting", _("waiting")
        OFFERED = "offered", _("offered")
        BOOKED = "booked", _("booked")
        LAPSED = "lapsed", _("offer not used")
        LEFT = "left", _("left")
        ENDED = "ended", _("day over")

    LIVE = (State.WAITING, State.OFFERED)

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waitlist_entries")
    date = models.DateField()
    after = models.TimeField(null=True, blank=True)
    before = models.TimeField(null=True, blank=True)
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=8, choices=State.choices, default=State.WAITING)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "created", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "date"],
                condition=models.Q(state__in=["waiting", "offered"]),
                name="waitlist_one_live_entry_per_day",
            ),
        ]
        indexes = [models.Index(fields=["state", "date", "created"], name="waitlist_line")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.date} {self.state}"


class SlotHold(models.Model):
    """A freed slot kept for the waitlist entry it was offered to until `expires`: others see the
    room as taken and booking it is 409 slot_held; passed on to the next in line when unused."""

    class State(models.TextChoices):
        ACTIVE = "active", _("active")
        USED = "used", _("used")
        LAPSED = "lapsed", _("lapsed")
        RELEASED = "released", _("released")

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="holds")
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    expires = models.DateTimeField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.ACTIVE)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["room", "start"], condition=models.Q(state="active"), name="slot_hold_one_active_per_slot"
            ),
        ]
        indexes = [models.Index(fields=["state", "start"], name="slot_hold_state_start")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.room_id} {timezone.localtime(self.start):%Y-%m-%d %H:%M} {self.state}"
