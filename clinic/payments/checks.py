"""System checks: WeChat Pay keys that cannot be loaded are reported at start-up, not at the
first payment."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register


@register("payments")
def wechatpay_keys_load(app_configs=None, **kwargs) -> list[Error]:
    from clinic.payments.providers import wechat

    if settings.PAYMENT_PROVIDER != "wechat" and not wechat.is_configured():
        return []
    try:
        wechat.build_client()  # loads both keys; public-key mode never touches the network here
    except Exception as exc:
        return [
            Error(
                f"WeChat Pay cannot start: {exc}",
                hint="WECHATPAY_PRIVATE_KEY must be the merchant's PKCS#8 PEM (apiclient_key.pem) and "
                "WECHATPAY_PUBLIC_KEY WeChat Pay's public key PEM (pub_key.pem).",
                id="payments.E001",
            )
        ]
    return []
