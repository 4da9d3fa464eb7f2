"""WeChat Pay Native (the client scans a QR code) through wechatpayv3, in public-key mode.

Public-key mode checks WeChat Pay's signatures with the configured WeChat Pay public key, so
nothing is downloaded at start-up (certificate mode would fetch platform certificates, and is
not used). Building the SDK object reads the keys and never touches the network, so it is
built per call: settings changes apply at once and no state is shared between threads.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone
from wechatpayv3 import WeChatPay, WeChatPayType

from clinic.errors import Forbidden, Unavailable

if TYPE_CHECKING:
    from clinic.payments.models import PaymentOrder

logger = logging.getLogger(__name__)

OFFICIAL_GATEWAY = "https://api.mch.weixin.qq.com"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
# WeChat Pay's own advice: refuse a notification whose timestamp is more than 5 minutes off.
MAX_CLOCK_SKEW_SECONDS = 300
MAX_NOTIFICATION_BYTES = 64 * 1024

REQUIRED_SETTINGS = (
    "WECHATPAY_MCHID",
    "WECHATPAY_APPID",
    "WECHATPAY_MERCHANT_SERIAL_NO",
    "WECHATPAY_PRIVATE_KEY",
    "WECHATPAY_APIV3_KEY",
    "WECHATPAY_PUBLIC_KEY",
    "WECHATPAY_PUBLIC_KEY_ID",
)


class ProviderUnavailable(Unavailable):
    code = "payment_provider_unavailable"
    default_message = "WeChat Pay did not answer; nothing was charged. Please retry, or pay at the desk."


class NotificationRefused(Forbidden):
    """A payment notification that is not provably from WeChat Pay, or not for now."""

    code = "notification_refused"


def is_configured() -> bool:
    """Keys are there to verify notifications (even after the clinic went back to the desk)."""
    return all(getattr(settings, name, "") for name in REQUIRED_SETTINGS)


def build_client() -> WeChatPay:
    client = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid=settings.WECHATPAY_MCHID,
        private_key=settings.WECHATPAY_PRIVATE_KEY,
        cert_serial_no=settings.WECHATPAY_MERCHANT_SERIAL_NO,
        appid=settings.WECHATPAY_APPID,
        apiv3_key=settings.WECHATPAY_APIV3_KEY,
        notify_url=settings.WECHATPAY_NOTIFY_URL,
        timeout=settings.WECHATPAY_TIMEOUT_SECONDS,
        # Both given: public-key mode. Without them the SDK downloads certificates right here.
        public_key=settings.WECHATPAY_PUBLIC_KEY,
        public_key_id=settings.WECHATPAY_PUBLIC_KEY_ID,
    )
    if settings.WECHATPAY_GATEWAY != OFFICIAL_GATEWAY:
        # wechatpayv3 2.0.4 has no gateway option; its Core keeps the base URL in `_gate_way`.
        # Used by the tests' local fake server only.
        if not hasattr(client._core, "_gate_way"):
            raise ProviderUnavailable("This wechatpayv3 version cannot use WECHATPAY_GATEWAY.")
        client._core._gate_way = settings.WECHATPAY_GATEWAY
    return client


def _client() -> WeChatPay:
    try:
        return build_client()
    except ProviderUnavailable:
        raise
    except Exception as exc:  # the SDK raises bare Exceptions for keys it cannot load
        logger.error("WeChat Pay is misconfigured: %s", exc)
        raise ProviderUnavailable("WeChat Pay is not set up correctly; please pay at the desk.") from exc


class WeChatPayNative:
    name = "wechat"

    def create(self, order: PaymentOrder) -> str:
        # WeChat Pay itself refuses payment after this, whatever our sweep does.
        expire = timezone.localtime(order.created + timedelta(minutes=settings.PAYMENT_ORDER_TTL_MINUTES))
        try:
            status, answer = _client().pay(
                description=order.item.name[:127],
                out_trade_no=order.reference,
                amount={"total": order.amount_fen, "currency": "CNY"},
                time_expire=expire.isoformat(timespec="seconds"),
                pay_type=WeChatPayType.NATIVE,
            )
        except ProviderUnavailable:
            raise
        except Exception as exc:  # network errors, or an answer whose signature did not verify
            logger.warning("WeChat Pay order %s failed: %s", order.reference, exc)
            raise ProviderUnavailable() from exc
        if status != 200:
            logger.warning("WeChat Pay order %s refused (%s): %.500s", order.reference, status, answer)
            raise ProviderUnavailable(f"WeChat Pay refused the order (HTTP {status}); please pay at the desk.")
        try:
            code_url = json.loads(answer)["code_url"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderUnavailable() from exc
        if not isinstance(code_url, str) or not code_url:
            raise ProviderUnavailable()
        return code_url

    def close(self, order: PaymentOrder) -> None:
        status, answer = _client().close(out_trade_no=order.reference)
        if status not in (200, 204):
            raise ProviderUnavailable(f"WeChat Pay did not close {order.reference} (HTTP {status}): {answer!r:.300}")

    def read_notification(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> dict[str, Any]:
        """The notification, its resource decrypted, if it is provably from WeChat Pay and recent.

        The serial and the timestamp are checked before the SDK sees anything: for a serial
        other than the public key's id the SDK would go and download certificates."""
        if not is_configured():
            raise NotificationRefused("WeChat Pay is not configured here.", code="not_configured")
        if headers.get("Wechatpay-Serial", "") != settings.WECHATPAY_PUBLIC_KEY_ID:
            raise NotificationRefused("Unknown Wechatpay-Serial.", code="unknown_serial")
        raw_timestamp = headers.get("Wechatpay-Timestamp", "")
        # Unix seconds have 10 digits; a huge number would overflow the float arithmetic below.
        if not (raw_timestamp.isascii() and raw_timestamp.isdigit() and len(raw_timestamp) <= 12):
            raise NotificationRefused("Missing or bad Wechatpay-Timestamp.", code="stale_timestamp")
        timestamp = int(raw_timestamp)
        now = time.time() if now is None else now
        if abs(now - timestamp) > MAX_CLOCK_SKEW_SECONDS:
            raise NotificationRefused("Wechatpay-Timestamp is too far from now.", code="stale_timestamp")
        if len(body) > MAX_NOTIFICATION_BYTES:
            raise NotificationRefused("The notification is too large.", code="bad_notification")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise NotificationRefused("The notification is not UTF-8.", code="bad_notification") from None
        sdk_headers = {
            "Wechatpay-Serial": settings.WECHATPAY_PUBLIC_KEY_ID,
            "Wechatpay-Timestamp": headers.get("Wechatpay-Timestamp", ""),
            "Wechatpay-Nonce": headers.get("Wechatpay-Nonce", ""),
            "Wechatpay-Signature": headers.get("Wechatpay-Signature", ""),
            "Wechatpay-Signature-Type": headers.get("Wechatpay-Signature-Type", SIGNATURE_TYPE),
        }
        try:
            event = _client().callback(sdk_headers, text)
        except ProviderUnavailable:
            raise
        except Exception as exc:  # unsupported algorithm, bad JSON or base64 after a good signature
            logger.warning("WeChat Pay notification not readable: %s", exc)
            raise NotificationRefused("The notification could not be read.", code="bad_notification") from None
        if not event:
            raise NotificationRefused("The signature or the encrypted resource did not verify.", code="bad_signature")
        if not isinstance(event.get("resource"), dict):
            raise NotificationRefused("The notification carries no payment.", code="bad_notification")
        return event


# WeChat Pay's refund states: SUCCESS (money back), PROCESSING (wait and ask again),
# ABNORMAL (the client's account refused it) and CLOSED (WeChat Pay gave up).
REFUND_DONE = "SUCCESS"
REFUND_WAITING = "PROCESSING"
REFUND_ABNORMAL = "ABNORMAL"
REFUND_REFUSED = "REFUSED"  # ours: WeChat Pay answered the request with an error (4xx); nothing was refunded


def _refund_answer(what: str, reference: str, status: int, answer: Any) -> str:
    if 400 <= status < 500 and what == "request":
        logger.warning("WeChat Pay refused refund %s (%s): %.500s", reference, status, answer)
        return REFUND_REFUSED
    if status != 200:
        logger.warning("WeChat Pay refund %s %s failed (%s): %.500s", what, reference, status, answer)
        raise ProviderUnavailable(f"WeChat Pay did not answer the refund (HTTP {status}).", code="refund_unavailable")
    try:
        state = json.loads(answer)["status"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ProviderUnavailable() from exc
    return str(state)[:20]


def refund(order: PaymentOrder) -> str:
    """Ask WeChat Pay to give the order's whole amount back; its refund state. Asking again with
    the same out_refund_no is WeChat Pay's idempotent retry, never a second refund."""
    try:
        status, answer = _client().refund(
            out_refund_no=order.refund_reference,
            amount={"refund": order.amount_fen, "total": order.amount_fen, "currency": "CNY"},
            transaction_id=order.transaction_id,
            # WeChat Pay shows the reason to the payer: staff's words (they may name the service)
            # stay in the audit trail.
            reason=None,
        )
    except ProviderUnavailable:
        raise
    except Exception as exc:
        logger.warning("WeChat Pay refund %s failed: %s", order.refund_reference, exc)
        raise ProviderUnavailable() from exc
    return _refund_answer("request", order.refund_reference, status, answer)


def refund_state(order: PaymentOrder) -> str | None:
    """WeChat Pay's state of the order's refund, or None if it never heard of it."""
    try:
        status, answer = _client().query_refund(out_refund_no=order.refund_reference)
    except ProviderUnavailable:
        raise
    except Exception as exc:
        raise ProviderUnavailable() from exc
    if status == 404:
        return None
    return _refund_answer("query", order.refund_reference, status, answer)
