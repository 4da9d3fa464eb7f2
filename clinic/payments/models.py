"""Fee items and payment orders."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class FeeItem(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    amount_fen = models.PositiveIntegerField()  # integer fen, never floats
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class PaymentOrder(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PAID = "paid"
        CLOSED = "closed"
        REFUNDED = "refunded"

    payer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payment_orders")
    item = models.ForeignKey(FeeItem, on_delete=models.PROTECT)
    amount_fen = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        permissions = [("manage_payments", "Can manage fee items and confirm payments at the desk")]
