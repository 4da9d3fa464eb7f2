"""Orders through WeChat Pay Native (public-key mode) against a local fake of its API: the
merchant's request signature is checked there, and its signed answer verified by the SDK."""

import json
from datetime import datetime, timedelta

import pytest

from clinic.payments import providers, services
from clinic.payments.checks import wechatpay_keys_load
from clinic.payments.models import PaymentOrder
from clinic.payments.providers import wechat
from tests import factories as f
from tests.clinic.payments import wechat_fakes as wx


@pytest.fixture
def booking(people):
    room = f.room("Room A")
    return f.booking(people.carl, room, f.at(f.tomorrow(), "09:00"), purpose="self_preservation", payment="pending")


def open_order(client, booking):
    return client.post("/api/payments/", {"item": "self_preservation_collection", "booking": booking.pk}, format="json")


def test_an_order_gets_its_code_url_from_wechat_pay(people, client_for, booking, fake_wechat):
    response = open_order(client_for(people.carl), booking)
    assert response.status_code == 201, response.content
    assert response.json()["code_url"] == wx.CODE_URL
    order = PaymentOrder.objects.get()
    assert (order.provider, order.code_url, order.status) == ("wechat", wx.CODE_URL, "pending")
    [request] = fake_wechat.requests
    assert request["path"] == "/v3/pay/transactions/native"
    assert request["signed"] is True  # Authorization verified with the merchant's public key
    assert request["serial"] == wx.PUBLIC_KEY_ID  # public-key mode names the key it expects
    body = request["body"]
    assert (body["appid"], body["mchid"], body["out_trade_no"]) == (wx.APPID, wx.MCHID, order.reference)
    assert body["amount"] == {"total": order.amount_fen, "currency": "CNY"}
    assert body["notify_url"] == "https://clinic.example.org/api/payments/notify/wechat/"
    assert body["description"] == order.item.name
    expire = datetime.fromisoformat(body["time_expire"])
    assert expire == (order.created + timedelta(minutes=120)).replace(microsecond=0)
    assert expire.utcoffset() == timedelta(hours=8)


def test_the_qr_code_of_a_wechat_order(people, client_for, booking, fake_wechat):
    order_id = open_order(client_for(people.carl), booking).json()["id"]
    response = client_for(people.carl).get(f"/api/payments/{order_id}/qr/?format=svg")
    assert response.status_code == 200 and b"<svg" in response.content


def test_an_answer_not_signed_by_wechat_pay_is_not_trusted(people, client_for, booking, fake_wechat):
    fake_wechat.sign_answers = False
    response = open_order(client_for(people.carl), booking)
    assert response.status_code == 503
    assert response.json()["code"] == "payment_provider_unavailable"
    order = PaymentOrder.objects.get()
    assert (order.status, order.code_url) == ("pending", "")
    # The next attempt asks again for the same order (same out_trade_no), and gets its QR.
    fake_wechat.sign_answers = True
    again = open_order(client_for(people.carl), booking)
    assert again.status_code == 200
    assert again.json()["id"] == order.pk and again.json()["code_url"] == wx.CODE_URL
    references = {r["body"]["out_trade_no"] for r in fake_wechat.requests}
    assert references == {order.reference}
    assert not [r for r in fake_wechat.requests if r["path"].startswith("/v3/certificates")]


def test_wechat_pay_not_answering_is_a_503_and_nothing_is_charged(people, client_for, booking, settings):
    wx.configure(settings, gateway="http://127.0.0.1:9")  # nothing listens there
    response = open_order(client_for(people.carl), booking)
    assert response.status_code == 503
    assert PaymentOrder.objects.get().code_url == ""


def test_a_merchant_key_wechat_pay_does_not_know_is_refused_there(people, client_for, booking, fake_wechat, settings):
    settings.WECHATPAY_PRIVATE_KEY = wx.Keys.private_pem(wx.keys().stranger)
    response = open_order(client_for(people.carl), booking)
    assert response.status_code == 503
    assert fake_wechat.requests[0]["signed"] is False


def test_closing_asks_wechat_pay_to_close(people, booking, fake_wechat):
    order, _ = services.open_order(payer=people.carl, item_code="self_preservation_collection", booking_id=booking.pk)
    later = order.created + timedelta(minutes=121)
    assert services.close_unpaid_orders(later) == 1
    assert fake_wechat.requests[-1]["path"] == f"/v3/pay/transactions/out-trade-no/{order.reference}/close"
    assert fake_wechat.requests[-1]["body"] == {"mchid": wx.MCHID}
    assert fake_wechat.requests[-1]["signed"] is True
    order.refresh_from_db()
    assert order.status == "closed"


def test_closing_is_best_effort(people, booking, fake_wechat, settings):
    order, _ = services.open_order(payer=people.carl, item_code="self_preservation_collection", booking_id=booking.pk)
    settings.WECHATPAY_GATEWAY = "http://127.0.0.1:9"
    assert services.close_unpaid_orders(order.created + timedelta(minutes=121)) == 1
    order.refresh_from_db()
    assert order.status == "closed"


def test_a_desk_payment_closes_the_wechat_order(people, client_for, booking, fake_wechat):
    order_id = open_order(client_for(people.carl), booking).json()["id"]
    assert client_for(people.sam).post(f"/api/payments/{order_id}/confirm/").status_code == 200
    assert fake_wechat.requests[-1]["path"].endswith("/close")


def test_public_key_mode_builds_the_sdk_without_the_network(settings, monkeypatch):
    import wechatpayv3.core

    calls = []
    monkeypatch.setattr(wechatpayv3.core.requests, "get", lambda *a, **k: calls.append(a))
    wx.configure(settings)
    client = wechat.build_client()
    assert client._core._public_key is not None
    assert calls == []
    assert wechatpay_keys_load() == []


def test_a_key_that_does_not_load_is_a_system_check_error(settings):
    wx.configure(settings)
    settings.WECHATPAY_PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----"
    [error] = wechatpay_keys_load()
    assert error.id == "payments.E001"


def test_the_cashier_provider_needs_no_network(settings):
    order = PaymentOrder(reference="20261129ABCDEF0123456789")
    assert providers.get("cashier").create(order) == f"{settings.SITE_URL}/pay/20261129ABCDEF0123456789"
    assert providers.get("cashier").close(order) is None


def test_the_fake_checks_signatures_like_wechat_pay():
    body = json.dumps({"a": 1})
    assert not wx.merchant_signature_ok("POST", "/v3/x", body, 'WECHATPAY2-SHA256-RSA2048 mchid="1"')
