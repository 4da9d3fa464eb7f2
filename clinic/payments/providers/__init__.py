"""Payment providers behind one small interface: WeChat Pay Native, or the cashier at the desk.

A provider registers an order and answers the `code_url` its payment QR encodes; it can also
be asked to close an unpaid order so that it can no longer be paid (best effort).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from clinic.payments.models import PaymentOrder


class Provider(Protocol):
    name: str

    def create(self, order: PaymentOrder) -> str:
        """Register the order with the provider; return what the payment QR encodes."""
        ...

    def close(self, order: PaymentOrder) -> None:
        """Ask the provider to stop accepting payment for the order. May raise."""
        ...


def get(name: str) -> Provider:
    from clinic.payments.providers.cashier import Cashier
    from clinic.payments.providers.wechat import WeChatPayNative

    providers: dict[str, type[Provider]] = {Cashier.name: Cashier, WeChatPayNative.name: WeChatPayNative}
    return providers[name]()
