"""A paid order whose booking will not happen: credit for the client's next booking of the same fee
item (POST /api/bookings/, POST /api/payments/), or refunded by staff (POST
/api/payments/{id}/refund/, POST /api/payments/{id}/refund/confirm/) with the cashier provider."""

from __future__ import annotations

import pytest

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from clinic.payments.models import PaymentOrder
from tests import factories as f
from workflows import bookings as booking_flow

ITEM = "self_preservation_collection"


@pytest.fixture
def room(db):
    room = f.room("Room A")
    f.weekly_opening(room)
    return room


def book(people, room, hhmm="09:00", day=None) -> Booking:
    start = f.at(day or f.tomorrow(), hhmm)
    return booking_flow.request_booking(actor=people.carl, donor=people.carl, room_id=room.pk, start=start)


def paid_order(people, client_for, booking) -> int:
    order_id = client_for(people.carl).post("/api/payments/", {"item": ITEM, "booking": booking.pk}, format="json")
    order_id = order_id.json()["id"]
    assert client_for(people.sam).post(f"/api/payments/{order_id}/confirm/", {}, format="json").status_code == 200
    return order_id


def cancel(client, booking) -> None:
    assert client.post(f"/api/bookings/{booking.pk}/cancel/", {}, format="json").status_code == 200


def test_a_cancelled_paid_booking_leaves_credit_that_pays_the_next_booking(people, client_for, room):
    first = book(people, room)
    order_id = paid_order(people, client_for, first)
    cancel(client_for(people.carl), first)
    # The client's pages say so: paid, and kept as credit.
    order = client_for(people.carl).get(f"/api/payments/{order_id}/").json()
    assert (order["status"], order["credit"], order["booking"]) == ("paid", True, first.pk)

    response = client_for(people.carl).post(
        "/api/bookings/", {"room": room.pk, "start": f.at(f.tomorrow(), "11:00").isoformat()}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["payment"] == "paid"
    second = Booking.objects.get(pk=response.json()["id"])
    assert second.payment == "paid"
    moved = PaymentOrder.objects.get(pk=order_id)
    assert (moved.status, moved.booking_id) == ("paid", second.pk)
    assert PaymentOrder.objects.count() == 1  # no second ¥800
    event = AuditEvent.objects.get(action="payment.credit_applied")
    assert event.data == {"reference": moved.reference, "from_booking": first.pk, "to_booking": second.pk}
    order = client_for(people.carl).get(f"/api/payments/{order_id}/").json()
    assert order["credit"] is False
    # The staff review is no longer waiting for a payment.
    (task,) = [t for t in client_for(people.sam).get("/api/tasks/").json() if t["booking"]["id"] == second.pk]
    assert task["awaiting_payment"] is False


def test_a_rejected_booking_leaves_credit_too_and_it_is_used_once(people, client_for, room):
    first = book(people, room)
    order_id = paid_order(people, client_for, first)
    Booking.objects.filter(pk=first.pk).update(status="rejected")
    second = book(people, room, "11:00")
    second.refresh_from_db()
    assert second.payment == "paid"
    cancel(client_for(people.carl), second)  # the credit is back, with the cancelled booking
    third = book(people, room, "13:00")
    third.refresh_from_db()
    assert third.payment == "paid"
    assert PaymentOrder.objects.get(pk=order_id).booking_id == third.pk
    assert AuditEvent.objects.filter(action="payment.credit_applied").count() == 2


def test_a_completed_or_missed_booking_leaves_no_credit(people, client_for, room):
    first = book(people, room)
    paid_order(people, client_for, first)
    Booking.objects.filter(pk=first.pk).update(status="no_show")
    second = book(people, room, "11:00")
    second.refresh_from_db()
    assert second.payment == "pending"
    assert client_for(people.carl).get("/api/payments/?credit=true").json()["results"] == []


def test_opening_an_order_for_a_booking_uses_the_credit_instead(people, client_for, room):
    """A payment that arrived after its booking was cancelled (WeChat Pay accepts a late payment)
    becomes credit while the next booking already waits: the Pay button takes the credit."""
    first = book(people, room)
    order_id = client_for(people.carl).post("/api/payments/", {"item": ITEM, "booking": first.pk}, format="json")
    order_id = order_id.json()["id"]
    cancel(client_for(people.carl), first)
    second = book(people, room, "11:00")
    PaymentOrder.objects.filter(pk=order_id).update(status="paid")  # the late payment
    response = client_for(people.carl).post("/api/payments/", {"item": ITEM, "booking": second.pk}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["id"], response.json()["status"], response.json()["booking"]) == (
        order_id,
        "paid",
        second.pk,
    )
    assert Booking.objects.get(pk=second.pk).payment == "paid"
    assert PaymentOrder.objects.count() == 1


def test_the_credit_waits_while_an_order_for_the_booking_is_open(people, client_for, room):
    """The open order's QR may be being paid right now: the credit does not pay the booking too."""
    first = book(people, room)
    credit_id = paid_order(people, client_for, first)
    cancel(client_for(people.carl), first)
    second = book(people, room, "11:00")
    Booking.objects.filter(pk=second.pk).update(payment="pending")  # as if the credit had been refunded
    PaymentOrder.objects.filter(pk=credit_id).update(booking=first)
    open_id = PaymentOrder.objects.create(
        payer=people.carl, item=PaymentOrder.objects.get(pk=credit_id).item, booking=second, amount_fen=80000
    ).pk
    response = client_for(people.carl).post("/api/payments/", {"item": ITEM, "booking": second.pk}, format="json")
    assert (response.status_code, response.json()["id"]) == (200, open_id)
    assert PaymentOrder.objects.get(pk=credit_id).booking_id == first.pk  # still his credit


def test_a_second_payment_of_one_booking_is_refundable(people, client_for, room):
    booking = book(people, room)
    first_id = paid_order(people, client_for, booking)
    late = PaymentOrder.objects.create(
        payer=people.carl,
        item=PaymentOrder.objects.get(pk=first_id).item,
        booking=booking,
        amount_fen=80000,
        status="paid",
    )
    response = client_for(people.sam).post(f"/api/payments/{late.pk}/refund/", {"reason": "paid twice"}, format="json")
    assert (response.status_code, response.json()["status"]) == (200, "refund_pending")
    # The booking stays paid by the first; that one is not refundable while it is on.
    again = client_for(people.sam).post(f"/api/payments/{first_id}/refund/", {"reason": "x"}, format="json")
    assert again.json()["code"] == "order_in_use"


def test_staff_refund_a_credit_at_the_desk(people, client_for, room):
    first = book(people, room)
    order_id = paid_order(people, client_for, first)
    cancel(client_for(people.carl), first)
    listed = client_for(people.sam).get("/api/payments/?credit=true").json()["results"]
    assert [o["id"] for o in listed] == [order_id]

    response = client_for(people.sam).post(f"/api/payments/{order_id}/refund/", {"reason": "moved away"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["refund_method"]) == ("refund_pending", "cashier")
    order = PaymentOrder.objects.get(pk=order_id)
    assert (order.status, order.refund_reason, order.refunded_by) == ("refund_pending", "moved away", people.sam)
    # A refund waiting is no credit: the next booking must be paid.
    second = book(people, room, "11:00")
    second.refresh_from_db()
    assert second.payment == "pending"

    done = client_for(people.sam).post(f"/api/payments/{order_id}/refund/confirm/", {"note": "cash"}, format="json")
    assert done.status_code == 200
    assert done.json()["status"] == "refunded" and done.json()["refunded_at"]
    assert PaymentOrder.objects.get(pk=order_id).status == "refunded"
    assert client_for(people.carl).get(f"/api/payments/{order_id}/").json()["status"] == "refunded"
    actions = list(AuditEvent.objects.filter(action__startswith="payment.refund").values_list("action", flat=True))
    assert sorted(actions) == ["payment.refund_requested", "payment.refunded"]
    # Twice: refused, nothing changes.
    again = client_for(people.sam).post(f"/api/payments/{order_id}/refund/confirm/", {}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "refund_not_pending")
    again = client_for(people.sam).post(f"/api/payments/{order_id}/refund/", {"reason": "again"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "not_refundable")
    assert AuditEvent.objects.filter(action="payment.refunded").count() == 1


def test_a_payment_of_a_booking_still_on_is_not_refunded(people, client_for, room):
    booking = book(people, room)
    order_id = paid_order(people, client_for, booking)
    response = client_for(people.sam).post(f"/api/payments/{order_id}/refund/", {"reason": "x"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "order_in_use")
    assert PaymentOrder.objects.get(pk=order_id).status == "paid"


def test_an_unpaid_order_is_not_refunded(people, client_for, room):
    booking = book(people, room)
    order_id = client_for(people.carl).post("/api/payments/", {"item": ITEM, "booking": booking.pk}, format="json")
    order_id = order_id.json()["id"]
    response = client_for(people.sam).post(f"/api/payments/{order_id}/refund/", {"reason": "x"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "not_refundable")


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 256}, [], {"reason": 5}])
def test_a_refund_needs_a_reason(people, client_for, room, body):
    first = book(people, room)
    order_id = paid_order(people, client_for, first)
    cancel(client_for(people.carl), first)
    response = client_for(people.sam).post(f"/api/payments/{order_id}/refund/", body, format="json")
    if body == {"reason": 5}:  # a number is text enough for DRF; the refund goes ahead
        assert response.status_code == 200
        return
    assert response.status_code == 400, response.content
    assert PaymentOrder.objects.get(pk=order_id).status == "paid"


@pytest.mark.parametrize("persona,status", [("carl", 403), ("alice", 403), ("rita", 403), ("adam", 403), ("anon", 401)])
def test_only_payment_managers_refund(people, client_for, room, persona, status):
    first = book(people, room)
    order_id = paid_order(people, client_for, first)
    cancel(client_for(people.carl), first)
    client = client_for(None if persona == "anon" else getattr(people, persona))
    assert client.post(f"/api/payments/{order_id}/refund/", {"reason": "x"}, format="json").status_code == status
    assert client.post(f"/api/payments/{order_id}/refund/confirm/", {}, format="json").status_code == status
    assert PaymentOrder.objects.get(pk=order_id).status == "paid"


def test_unknown_orders_are_a_404(people, client_for):
    assert (
        client_for(people.sam).post("/api/payments/999999/refund/", {"reason": "x"}, format="json").status_code == 404
    )
    assert client_for(people.sam).post("/api/payments/999999/refund/confirm/", {}, format="json").status_code == 404
