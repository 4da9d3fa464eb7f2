"""Admin: read-only views of the price list and the orders. Changes go through the API, whose
services validate and audit them."""

from django.contrib import admin

from clinic.payments.models import FeeItem, PaymentOrder


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FeeItem)
class FeeItemAdmin(ReadOnly):
    list_display = ["code", "name", "amount_fen", "active"]
    list_filter = ["active"]


@admin.register(PaymentOrder)
class PaymentOrderAdmin(ReadOnly):
    list_display = ["reference", "item", "amount_fen", "status", "provider", "created", "paid_at"]
    list_filter = ["status", "provider"]
    search_fields = ["reference", "transaction_id"]
