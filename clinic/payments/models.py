"""Fee items (the price list) and payment orders (one fee to pay, by WeChat Pay or at the desk)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.bookings.models import Booking


def new_reference() -> str:
    """The order's reference, sent to WeChat Pay as `out_trade_no` (6 to 32 letters and digits).
    64 random bits: the offline QR carries it, so it must not be guessable."""
    return f"{timezone.localdate():%Y%m%d}{secrets.token_hex(8).upper()}"


class FeeItem(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    amount_fen = models.PositiveIntegerField()  # integer fen, never floats
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("fee item")
        verbose_name_plural = _("fee items")
        ordering = ["code"]
        constraints = [models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="feeitem_amount_positive")]

    def __str__(self) -> str:
        return self.name


class PaymentOrder(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for payment")
        PAID = "paid", _("paid")
        CLOSED = "closed", _("expired")
        REFUND_PENDING = "refund_pending", _("refund in progress")
        REFUNDED = "refunded", _("refunded")

    class Provider(models.TextChoices):
        CASHIER = "cashier", _("Cashier (at the desk)")
        WECHAT = "wechat", "WeChat Pay"

    reference = models.CharField(max_length=32, unique=True, default=new_reference, editable=False)
    payer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payment_orders")
    item = models.ForeignKey(FeeItem, on_delete=models.PROTECT)
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.PROTECT, related_name="payment_orders")
    # Copied from the item when the order is made: a later price change does not touch it.
    amount_fen = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    provider = models.CharField(max_length=10, choices=Provider.choices, default=Provider.CASHIER)
    code_url = models.CharField(max_length=500, blank=True)  # what the payment QR encodes
    created = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    transaction_id = models.CharField(max_length=64, blank=True)  # WeChat Pay's own id for the payment
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A refund: asked by staff (refund_pending), then done by WeChat Pay or handed back at the desk.
    refund_method = models.CharField(max_length=10, choices=Provider.choices, blank=True)
    refund_reference = models.CharField(max_length=40, blank=True)  # WeChat Pay's out_refund_no
    refund_reason = models.CharField(max_length=255, blank=True)
    refund_requested_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    refunded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("payment order")
        verbose_name_plural = _("payment orders")
        permissions = [("manage_payments", "Can manage fee items and confirm payments at the desk")]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="paymentorder_amount_positive"),
            models.UniqueConstraint(
                fields=["booking"], condition=models.Q(status="pending"), name="payment_one_open_order_per_booking"
            ),
        ]
        indexes = [models.Index(fields=["status", "created"], name="payment_status_created")]

    def __str__(self) -> str:
        return self.reference
