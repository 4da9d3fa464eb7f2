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
    code = models.SlugField(max_length=40, unique=True, verbose_name=_("code"))
    name = models.CharField(max_length=100, verbose_name=_("name"))
    amount_fen = models.PositiveIntegerField(verbose_name=_("amount (fen)"))  # integer fen, never floats
    active = models.BooleanField(default=True, verbose_name=_("active"))

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

    reference = models.CharField(
        max_length=32, unique=True, default=new_reference, editable=False, verbose_name=_("reference")
    )
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payment_orders", verbose_name=_("payer")
    )
    item = models.ForeignKey(FeeItem, on_delete=models.PROTECT, verbose_name=_("item"))
    booking = models.ForeignKey(
        Booking,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payment_orders",
        verbose_name=_("booking"),
    )
    # Copied from the item when the order is made: a later price change does not touch it.
    amount_fen = models.PositiveIntegerField(verbose_name=_("amount (fen)"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    provider = models.CharField(
        max_length=10, choices=Provider.choices, default=Provider.CASHIER, verbose_name=_("provider")
    )
    # What the payment QR encodes.
    code_url = models.CharField(max_length=500, blank=True, verbose_name=_("payment QR content"))
    created = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=_("paid at"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    transaction_id = models.CharField(
        max_length=64, blank=True, verbose_name=_("transaction id")
    )  # WeChat Pay's own id for the payment
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    # A refund: asked by staff (refund_pending), then done by WeChat Pay or handed back at the desk.
    refund_method = models.CharField(
        max_length=10, choices=Provider.choices, blank=True, verbose_name=_("refund method")
    )
    refund_reference = models.CharField(
        max_length=40, blank=True, verbose_name=_("refund reference")
    )  # WeChat Pay's out_refund_no
    refund_reason = models.CharField(max_length=255, blank=True, verbose_name=_("refund reason"))
    refund_requested_at = models.DateTimeField(null=True, blank=True, verbose_name=_("refund requested at"))
    refunded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("refunded at"))
    refunded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("refunded by"),
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
