"""POST /api/payments/notify/wechat/: WeChat Pay's signed payment notification. Keys are made
in the test; a genuine notification is signed with the "platform" key whose public key is
configured, its resource AES-256-GCM-encrypted with the APIv3 key."""

import time

import pytest
from django.test import Client

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from clinic.payments.models import FeeItem, PaymentOrder
from tests import factories as f
from tests.clinic.payments import wechat_fakes as wx

URL = "/api/payments/notify/wechat/"


@pytest.fixture
def network(monkeypatch):
    """Every HTTP call the SDK tries; callbacks must never make one."""
    import wechatpayv3.core

    calls = []

    def record(*args, **kwargs):
        calls.append((args, kwargs))
        raise ConnectionError("no network in this test")

    monkeypatch.setattr(wechatpayv3.core.requests, "get", record)
    monkeypatch.setattr(wechatpayv3.core.requests, "post", record)
    return calls


@pytest.fixture
def keys(settings, network):
    return wx.configure(settings)


@pytest.fixture
def order(people, keys):
    room = f.room("Room A")
    booking = f.booking(people.carl, room, f.at(f.tomorrow(), "09:00"), purpose="self_preservation", payment="pending")
    return PaymentOrder.objects.create(
        payer=people.carl,
        item=FeeItem.objects.get(code="self_preservation_collection"),
        booking=booking,
        amount_fen=80000,
        provider="wechat",
        code_url=wx.CODE_URL,
    )


def post(headers, body):
    return Client().post(URL, data=body, content_type="application/json", headers=headers)


def refusals(reason=None):
    events = AuditEvent.objects.filter(action="payment.wechat_notification", outcome="refused")
    return events.filter(reason=reason) if reason else events


def assert_unchanged(order):
    order.refresh_from_db()
    assert (order.status, order.paid_at, order.transaction_id) == ("pending", None, "")
    assert Booking.objects.get(pk=order.booking_id).payment == "pending"
    assert not AuditEvent.objects.filter(action="payment.paid").exists()


def test_a_genuine_notification_pays_the_order_once(order, network):
    resource = wx.transaction(order.reference, order.amount_fen)
    headers, body = wx.notification(resource)
    response = post(headers, body)
    assert response.status_code == 200, response.content
    assert response.json()["code"] == "SUCCESS"
    order.refresh_from_db()
    assert (order.status, order.transaction_id) == ("paid", resource["transaction_id"])
    assert order.paid_at.isoformat() == "2026-11-29T02:34:56+00:00"
    assert Booking.objects.get(pk=order.booking_id).payment == "paid"
    # WeChat Pay retries until it hears 200: the same notification again changes nothing.
    again = post(headers, body)
    assert again.status_code == 200
    assert AuditEvent.objects.filter(action="payment.paid", object_id=str(order.pk)).count() == 1
    assert AuditEvent.objects.filter(action="payment.wechat_notification", reason__startswith="repeated").count() == 1
    assert network == []


def test_a_tampered_body_is_refused(order, network):
    headers, body = wx.notification(wx.transaction(order.reference, order.amount_fen))
    response = post(headers, body.replace("TRANSACTION.SUCCESS", "TRANSACTION.SUCCESS "))
    assert response.status_code == 403
    assert response.json()["code"] == "bad_signature"
    assert set(response.json()) >= {"code", "message"}
    assert_unchanged(order)
    assert refusals("bad_signature").count() == 1
    assert network == []


def test_a_notification_signed_by_another_key_is_refused(order, keys, network):
    headers, body = wx.notification(wx.transaction(order.reference, order.amount_fen), signer=keys.stranger)
    response = post(headers, body)
    assert response.status_code == 403
    assert response.json()["code"] == "bad_signature"
    assert_unchanged(order)
    assert network == []


def test_a_garbage_signature_is_refused(order, network):
    headers, body = wx.notification(wx.transaction(order.reference, order.amount_fen))
    for signature in ("", "not base64 at all!", "QUJD"):
        response = post({**headers, "Wechatpay-Signature": signature}, body)
        assert response.status_code == 403
    assert_unchanged(order)


def test_a_resource_encrypted_with_another_key_is_refused(order, network):
    headers, body = wx.notification(wx.transaction(order.reference, order.amount_fen), apiv3_key="x" * 32)
    response = post(headers, body)
    assert response.status_code == 403
    assert_unchanged(order)


def test_an_unknown_serial_is_refused_before_the_sdk_goes_to_the_network(order, network):
    headers, body = wx.notification(
        wx.transaction(order.reference, order.amount_fen), serial="5157F09EFDC096DE15EBE81A47057A72"
    )
    response = post(headers, body)
    assert response.status_code == 403
    assert response.json()["code"] == "unknown_serial"
    assert_unchanged(order)
    assert network == []  # the SDK would have downloaded certificates for that serial
    assert refusals("unknown_serial").get().data["serial"] == "5157F09EFDC096DE15EBE81A47057A72"


# Clear of the 300 s window by more than a loaded machine takes between signing and checking.
@pytest.mark.parametrize("offset", [-330, +330, -86400])
def test_a_stale_or_future_timestamp_is_refused(order, network, offset):
    headers, body = wx.notification(
        wx.transaction(order.reference, order.amount_fen), timestamp=int(time.time()) + offset
    )
    response = post(headers, body)
    assert response.status_code == 403
    assert response.json()["code"] == "stale_timestamp"
    assert_unchanged(order)


@pytest.mark.parametrize("stamp", ["9" * 400, "١٢٣٤٥٦٧٨٩٠", "-1", "1e10", " 1700000000"])
def test_a_malformed_timestamp_is_refused_not_a_500(order, network, stamp):
    headers, body = wx.notification(wx.transaction(order.reference, order.amount_fen))
    headers["Wechatpay-Timestamp"] = stamp
    response = post(headers, body)
    assert response.status_code == 403
    assert response.json()["code"] == "stale_timestamp"
    assert_unchanged(order)


def test_a_replay_after_five_minutes_is_refused(order, network, monkeypatch):
    headers, body = wx.notification(wx.transaction(order.reference, order.amount_fen))
    later = time.time() + 301
    monkeypatch.setattr("clinic.payments.providers.wechat.time.time", lambda: later)
    assert post(headers, body).status_code == 403
    assert_unchanged(order)


@pytest.mark.parametrize(
    "missing", ["Wechatpay-Timestamp", "Wechatpay-Serial", "Wechatpay-Signature", "Wechatpay-Nonce"]
)
def test_a_missing_header_is_refused(order, network, missing):
    headers, body = wx.notification(wx.transaction(order.reference, order.amount_fen))
    del headers[missing]
    assert post(headers, body).status_code == 403
    assert_unchanged(order)


def test_an_unknown_order_is_refused_and_nothing_changes(order, network):
    headers, body = wx.notification(wx.transaction("20261129DEADBEEF00000000", order.amount_fen))
    response = post(headers, body)
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_order"
    assert_unchanged(order)
    assert refusals("unknown_order").get().data["reference"] == "20261129DEADBEEF00000000"


def test_an_amount_mismatch_is_refused(order, network):
    headers, body = wx.notification(wx.transaction(order.reference, order.amount_fen - 1))
    response = post(headers, body)
    assert response.status_code == 409
    assert response.json()["code"] == "amount_mismatch"
    assert_unchanged(order)


def test_a_payment_to_another_merchant_is_refused(order, network):
    headers, body = wx.notification(wx.transaction(order.reference, order.amount_fen, mchid="1900000999"))
    assert post(headers, body).status_code == 403
    assert_unchanged(order)


def test_a_notification_of_another_trade_state_changes_nothing(order, network):
    headers, body = wx.notification(wx.transaction(order.reference, order.amount_fen, trade_state="NOTPAY"))
    assert post(headers, body).status_code == 200
    assert_unchanged(order)


def test_a_genuine_payment_of_a_just_closed_order_still_counts(order, network):
    PaymentOrder.objects.filter(pk=order.pk).update(status="closed")
    headers, body = wx.notification(wx.transaction(order.reference, order.amount_fen))
    assert post(headers, body).status_code == 200
    order.refresh_from_db()
    assert order.status == "paid"


def test_without_wechat_pay_configured_everything_is_refused(people, settings, network):
    settings.WECHATPAY_PUBLIC_KEY = ""
    headers, body = wx.notification(wx.transaction("20261129DEADBEEF00000000", 1))
    response = post(headers, body)
    assert response.status_code == 403
    assert response.json()["code"] == "not_configured"


def test_malformed_requests_get_json_errors_never_500(order, network):
    headers, _ = wx.notification(wx.transaction(order.reference, order.amount_fen))
    for body in ("", "{", "[]", "null", '{"resource": 1}'):
        response = post(headers, body)
        assert response.status_code == 403, body
        assert response.json()["code"] in {"bad_signature", "bad_notification"}
    response = Client().post(URL, data=b"\xff\xfe", content_type="application/json", headers=headers)
    assert response.status_code == 403
    assert Client().get(URL).status_code == 405
    assert_unchanged(order)
