"""Refunds through WeChat Pay (public-key mode) against the local fake of its API: the refund
request is signed and idempotent, a refund WeChat Pay is still processing is followed by the
sweep, one it refuses for good goes to the cashier, and WeChat Pay not answering loses nothing."""

from __future__ import annotations

import pytest

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from clinic.payments import services
from clinic.payments.models import PaymentOrder
from tests import factories as f

ITEM = "self_preservation_collection"


@pytest.fixture
def credit(people, fake_wechat):
    """Carl's order, paid through WeChat Pay, for a booking since cancelled."""
    room = f.room("Room A")
    booking = f.booking(people.carl, room, f.at(f.tomorrow(), "09:00"), purpose="self_preservation", payment="paid")
    order, _ = services.open_order(payer=people.carl, item_code=ITEM, booking_id=None)
    PaymentOrder.objects.filter(pk=order.pk).update(
        booking=booking, status="paid", transaction_id="4200000000ABCDEF", provider="wechat"
    )
    Booking.objects.filter(pk=booking.pk).update(status="cancelled")
    order.refresh_from_db()
    assert services.is_credit(order)
    return order


def refund_requests(fake) -> list[dict]:
    return [r for r in fake.requests if r["path"] == "/v3/refund/domestic/refunds"]


def test_a_refund_goes_through_wechat_pay(people, client_for, credit, fake_wechat):
    response = client_for(people.sam).post(f"/api/payments/{credit.pk}/refund/", {"reason": "moved"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["refund_method"]) == ("refunded", "wechat")
    (request,) = refund_requests(fake_wechat)
    assert request["signed"] is True
    body = request["body"]
    assert body["out_refund_no"] == f"{credit.reference}R"
    assert body["transaction_id"] == "4200000000ABCDEF"
    assert body["amount"] == {"refund": credit.amount_fen, "total": credit.amount_fen, "currency": "CNY"}
    credit.refresh_from_db()
    assert (credit.status, credit.refunded_at is not None) == ("refunded", True)
    assert AuditEvent.objects.filter(action="payment.refunded", data__via="wechat").count() == 1


def test_a_refund_wechat_pay_is_processing_is_finished_by_the_sweep(people, client_for, credit, fake_wechat):
    fake_wechat.refund_status = "PROCESSING"
    response = client_for(people.sam).post(f"/api/payments/{credit.pk}/refund/", {"reason": "moved"}, format="json")
    assert response.json()["status"] == "refund_pending"
    assert services.follow_refunds() == 0  # still processing: nothing changes
    assert PaymentOrder.objects.get(pk=credit.pk).status == "refund_pending"
    fake_wechat.refunds[f"{credit.reference}R"] = "SUCCESS"
    assert services.follow_refunds() == 1
    assert PaymentOrder.objects.get(pk=credit.pk).status == "refunded"
    assert services.follow_refunds() == 0
    assert len(refund_requests(fake_wechat)) == 1  # asked about, never asked twice


def test_wechat_pay_not_answering_keeps_the_refund_waiting_and_the_sweep_sends_it(
    people, client_for, credit, fake_wechat, settings
):
    gateway = settings.WECHATPAY_GATEWAY
    settings.WECHATPAY_GATEWAY = "http://127.0.0.1:9"
    response = client_for(people.sam).post(f"/api/payments/{credit.pk}/refund/", {"reason": "moved"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "refund_pending"
    assert services.follow_refunds() == 0  # still unreachable
    settings.WECHATPAY_GATEWAY = gateway
    assert services.follow_refunds() == 1  # never heard of it: sent now, with the same number
    assert [r["body"]["out_refund_no"] for r in refund_requests(fake_wechat)] == [f"{credit.reference}R"]
    assert PaymentOrder.objects.get(pk=credit.pk).status == "refunded"


@pytest.mark.parametrize("how", ["closed", "refused"])
def test_a_refund_wechat_pay_will_not_make_goes_to_the_cashier(people, client_for, credit, fake_wechat, how):
    if how == "closed":
        fake_wechat.refund_status = "CLOSED"
    else:  # an error answer (say the order is too old for WeChat Pay): nothing was refunded
        fake_wechat.refund_http_status = 403
    response = client_for(people.sam).post(f"/api/payments/{credit.pk}/refund/", {"reason": "moved"}, format="json")
    assert (response.json()["status"], response.json()["refund_method"]) == ("refund_pending", "cashier")
    assert AuditEvent.objects.filter(action="payment.refund_failed").count() == 1
    assert services.follow_refunds() == 0  # the desk's now: WeChat Pay is not asked again
    done = client_for(people.sam).post(f"/api/payments/{credit.pk}/refund/confirm/", {}, format="json")
    assert done.json()["status"] == "refunded"


def test_an_abnormal_refund_waits_for_the_merchant_platform(people, client_for, credit, fake_wechat):
    """ABNORMAL: the money left the merchant but the client's bank refused it; it is settled on
    WeChat Pay's platform, never handed out at the desk as well."""
    fake_wechat.refund_status = "ABNORMAL"
    response = client_for(people.sam).post(f"/api/payments/{credit.pk}/refund/", {"reason": "moved"}, format="json")
    assert (response.json()["status"], response.json()["refund_method"]) == ("refund_pending", "wechat")
    assert AuditEvent.objects.filter(action="payment.refund_abnormal").count() == 1
    assert (
        client_for(people.sam).post(f"/api/payments/{credit.pk}/refund/confirm/", {}, format="json").status_code == 409
    )
    assert services.follow_refunds() == 0
    assert AuditEvent.objects.filter(action="payment.refund_abnormal").count() == 1  # audited once
    fake_wechat.refunds[f"{credit.reference}R"] = "SUCCESS"  # settled on the platform
    assert services.follow_refunds() == 1


def test_the_staff_reason_is_not_sent_to_wechat_pay(people, client_for, credit, fake_wechat):
    """WeChat Pay shows a refund's reason to the payer; staff's words stay in the audit trail."""
    client_for(people.sam).post(f"/api/payments/{credit.pk}/refund/", {"reason": "取精预约取消"}, format="json")
    (request,) = refund_requests(fake_wechat)
    assert "reason" not in request["body"]
    assert AuditEvent.objects.get(action="payment.refund_requested").reason == "取精预约取消"


def test_a_refund_in_wechat_pays_hands_is_not_confirmed_at_the_desk(people, client_for, credit, fake_wechat):
    fake_wechat.refund_status = "PROCESSING"
    client_for(people.sam).post(f"/api/payments/{credit.pk}/refund/", {"reason": "moved"}, format="json")
    response = client_for(people.sam).post(f"/api/payments/{credit.pk}/refund/confirm/", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "refund_not_pending")
    assert PaymentOrder.objects.get(pk=credit.pk).status == "refund_pending"


def test_an_order_paid_at_the_desk_is_refunded_at_the_desk(people, client_for, credit, fake_wechat):
    PaymentOrder.objects.filter(pk=credit.pk).update(transaction_id="")
    response = client_for(people.sam).post(f"/api/payments/{credit.pk}/refund/", {"reason": "moved"}, format="json")
    assert (response.json()["status"], response.json()["refund_method"]) == ("refund_pending", "cashier")
    assert refund_requests(fake_wechat) == []
