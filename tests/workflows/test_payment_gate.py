"""The payment gate: a self-preservation booking cannot be approved by staff before its fee is
paid; unpaid at the slot's start, it expires. Driven from the API like a client and staff would."""

from datetime import timedelta

import pytest
from django.test import Client
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from clinic.payments import services as payments
from clinic.payments.models import FeeItem, PaymentOrder
from tests import factories as f
from tests.clinic.payments import wechat_fakes as wx
from tests.workflows.helpers import assert_finished, fire_timers, open_tasks, task_id

ITEM = "self_preservation_collection"


@pytest.fixture
def room(db):
    room = f.room("Room A")
    f.weekly_opening(room)
    return room


@pytest.fixture
def booking(people, room, client_for):
    response = client_for(people.carl).post(
        "/api/bookings/", {"room": room.pk, "start": f.at(f.tomorrow(), "09:00").isoformat()}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["payment"] == "pending"
    return Booking.objects.get(pk=response.json()["id"])


def approve(client, tid):
    return client.post(f"/api/tasks/{tid}/approve/", {}, format="json")


def staff_task(client):
    [task] = [t for t in client.get("/api/tasks/").json() if t["kind"] == "staff_review"]
    return task


def test_book_then_pay_at_the_desk_then_approve(people, booking, client_for):
    sam, rita, carl = client_for(people.sam), client_for(people.rita), client_for(people.carl)
    assert staff_task(sam)["awaiting_payment"] is True

    refused = approve(sam, task_id(booking, "staff_review"))
    assert refused.status_code == 409
    assert refused.json()["code"] == "payment_required"
    booking.refresh_from_db()
    assert (booking.staff_review, booking.payment) == ("pending", "pending")
    task = Task.objects.get(pk=task_id(booking, "staff_review"))
    assert (task.status, task.owner_id) == (STATUS.NEW, None)  # the refused approval left it unclaimed

    order = carl.post("/api/payments/", {"item": ITEM, "booking": booking.pk}, format="json")
    assert order.status_code == 201
    confirmed = sam.post(f"/api/payments/{order.json()['id']}/confirm/", format="json")
    assert confirmed.status_code == 200
    assert carl.get(f"/api/bookings/{booking.pk}/").json()["payment"] == "paid"
    assert staff_task(sam)["awaiting_payment"] is False

    assert approve(sam, task_id(booking, "staff_review")).status_code == 200
    response = approve(rita, task_id(booking, "room_review"))
    assert response.status_code == 200
    assert response.json()["booking"]["status"] == "approved"
    booking.refresh_from_db()
    assert (booking.status, booking.staff_review, booking.room_review, booking.payment) == (
        "approved",
        "approved",
        "approved",
        "paid",
    )
    assert [t.flow_task.name for t in open_tasks(booking)] == ["check_in"]


def test_paid_through_wechat_pay_then_approve(people, booking, client_for, settings):
    wx.configure(settings)
    item = FeeItem.objects.get(code=ITEM)
    order = PaymentOrder.objects.create(
        payer=people.carl, item=item, booking=booking, amount_fen=item.amount_fen, provider="wechat"
    )
    assert approve(client_for(people.sam), task_id(booking, "staff_review")).status_code == 409
    headers, body = wx.notification(wx.transaction(order.reference, order.amount_fen))
    notified = Client().post("/api/payments/notify/wechat/", body, content_type="application/json", headers=headers)
    assert notified.status_code == 200
    assert approve(client_for(people.sam), task_id(booking, "staff_review")).status_code == 200
    booking.refresh_from_db()
    assert (booking.payment, booking.staff_review) == ("paid", "approved")


def test_unpaid_at_the_start_it_expires_and_its_order_closes(people, booking, client_for):
    carl, sam, rita = client_for(people.carl), client_for(people.sam), client_for(people.rita)
    order_id = carl.post("/api/payments/", {"item": ITEM, "booking": booking.pk}, format="json").json()["id"]
    assert approve(rita, task_id(booking, "room_review")).status_code == 200
    assert approve(sam, task_id(booking, "staff_review")).status_code == 409

    assert fire_timers(booking.start - timedelta(seconds=1)) == 0
    assert fire_timers(booking.start) == 1
    booking.refresh_from_db()
    assert (booking.status, booking.staff_review, booking.room_review, booking.payment) == (
        "expired",
        "cancelled",
        "approved",
        "pending",
    )
    assert_finished(booking)
    expired = AuditEvent.objects.get(action="booking.expired", object_id=str(booking.pk))
    assert expired.reason == "not paid before the slot started"

    assert payments.close_unpaid_orders() == 1
    assert carl.get(f"/api/payments/{order_id}/").json()["status"] == "closed"
    again = carl.post("/api/payments/", {"item": ITEM, "booking": booking.pk}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "payment_not_pending"
    assert sam.post(f"/api/payments/{order_id}/confirm/").status_code == 409


def test_a_donation_booking_needs_no_payment(people, room, client_for):
    response = client_for(people.alice).post(
        "/api/bookings/", {"room": room.pk, "start": f.at(f.tomorrow(), "10:00").isoformat()}, format="json"
    )
    booking = Booking.objects.get(pk=response.json()["id"])
    assert booking.payment == "not_required"
    assert staff_task(client_for(people.sam))["awaiting_payment"] is False
    paying = client_for(people.alice).post("/api/payments/", {"item": ITEM, "booking": booking.pk}, format="json")
    assert paying.status_code == 409
    assert approve(client_for(people.sam), task_id(booking, "staff_review")).status_code == 200
