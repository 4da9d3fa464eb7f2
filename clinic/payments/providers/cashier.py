"""The offline provider: the client pays at the desk and staff confirm it; no network.

`code_url` is `SITE_URL/pay/<reference>`: the desk screen (or the client's phone) shows it as
a QR code, and the cashier's scanner reads the order's reference from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from clinic.payments.models import PaymentOrder


class Cashier:
    name = "cashier"

    def create(self, order: PaymentOrder) -> str:
        return f"{settings.SITE_URL}/pay/{order.reference}"

    def close(self, order: PaymentOrder) -> None:
        """Nothing to tell anyone: an offline order is closed by its status alone."""
