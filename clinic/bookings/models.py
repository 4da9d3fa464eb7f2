"""Bookings: a donor's appointment at a precise slot, in one private room."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
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
    DONATION = "donation", _("donation")
    SELF_PRESERVATION = "self_preservation", _("self-preservation")


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
        ordering = ["start", "id"]
        permissions = [
            ("book", "Can book a slot for himself"),
            ("view_all_bookings", "Can see all bookings"),
            ("view_donor_identity", "Can see donors' names, phone and ID numbers"),
            ("manage_bookings", "Can cancel, reschedule, book on behalf and close sessions"),
            ("review_donation", "Can review donation bookings"),
            ("review_room", "Can review room bookings"),
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
        return f"#{self.pk} {self.room_id} {self.start:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES
