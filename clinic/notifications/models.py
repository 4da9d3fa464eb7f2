"""Notification records: the database is the source of truth, the live push only a courier."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    BOOKING_REQUESTED = "booking.requested"
    ROOM_REQUESTED = "room.requested"
    BOOKING_REVIEWED = "booking.reviewed"
    BOOKING_APPROVED = "booking.approved"
    BOOKING_REJECTED = "booking.rejected"
    BOOKING_EXPIRED = "booking.expired"
    BOOKING_NO_SHOW = "booking.no_show"
    BOOKING_REMINDER = "booking.reminder"
    BOOKING_COMPLETED = "booking.completed"
    BOOKING_CHANGED = "booking.changed"
    ROOM_OVERSTAY = "room.overstay"
    DOOR_HELD_OPEN = "door.held_open"
    RELAY_OFFLINE = "relay.offline"
    RELAY_BACK = "relay.back"
    DONOR_STATUS = "donor.status"
    SLOT_OFFERED = "slot.offered"
    CONSULTATION_ANSWERED = "consultation.answered"
    PROMOTION = "promotion"


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("recipient")
    )
    kind = models.CharField(max_length=32, choices=Kind.choices, verbose_name=_("kind"))
    title = models.CharField(max_length=120, verbose_name=_("title"))
    body = models.CharField(max_length=500, verbose_name=_("body"))
    booking = models.ForeignKey(
        "bookings.Booking",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
        verbose_name=_("booking"),
    )
    # The context the texts were rendered from (ids, times, codes: never a name or phone).
    data = models.JSONField(default=dict, blank=True, verbose_name=_("data"))
    created = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    read_at = models.DateTimeField(null=True, blank=True, verbose_name=_("read at"))
    # Set when the push was claimed; rows left without it are delivered by the sweep.
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))
    # Set once the e-mail/SMS copies went out: a delivery task redelivered after its worker died
    # mid-send (acks_late) sends what that run had not, and nothing a second time.
    outward_sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("outward sent at"))

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["recipient", "id"], name="notification_recipient_id"),
            models.Index(fields=["id"], condition=models.Q(delivered_at__isnull=True), name="notification_undelivered"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} → {self.recipient_id}"

    @property
    def read(self) -> bool:
        return self.read_at is not None
