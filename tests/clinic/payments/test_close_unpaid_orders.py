"""Unpaid orders close after PAYMENT_ORDER_TTL_MINUTES, or once their booking is over; the
periodic sweep does it, and running it twice changes nothing the second time."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.audit.models import AuditEvent
from clinic.payments import services
from clinic.payments.models import PaymentOrder
from tests import factories as f

ITEM = "self_preservation_collection"


@pytest.fixture
def booking(people):
    room = f.room("Room A")
    return f.booking(people.carl, room, f.at(f.tomorrow(), "09:00"), purpose="self_preservation", payment="pending")


def order_for(user, booking=None, item=ITEM):
    order, _ = services.open_order(payer=user, item_code=item, booking_id=booking.pk if booking else None)
    return order


def test_an_order_closes_after_its_ttl_once(people, booking, settings):
    settings.PAYMENT_ORDER_TTL_MINUTES = 120
    order = order_for(people.carl, booking)
    assert services.close_unpaid_orders(order.created + timedelta(minutes=119)) == 0
    assert services.close_unpaid_orders(order.created + timedelta(minutes=120)) == 1
    assert services.close_unpaid_orders(order.created + timedelta(minutes=121)) == 0
    order.refresh_from_db()
    assert (order.status, order.closed_at) == ("closed", order.created + timedelta(minutes=120))
    assert AuditEvent.objects.filter(action="payment.closed", object_id=str(order.pk)).count() == 1
    booking.refresh_from_db()
    assert booking.payment == "pending"


def test_paid_orders_are_left_alone(people, booking):
    order = order_for(people.carl, booking)
    services.confirm_at_desk(order_id=order.pk, actor=people.sam)
    assert services.close_unpaid_orders(timezone.now() + timedelta(days=1)) == 0
    order.refresh_from_db()
    assert order.status == "paid"


def test_an_order_closes_when_its_booking_is_over(people, booking):
    order = order_for(people.carl, booking)
    booking.status = "cancelled"
    booking.save(update_fields=["status"])
    assert services.close_unpaid_orders() == 1
    order.refresh_from_db()
    assert order.status == "closed"


def test_the_periodic_sweep_closes_orders(people, booking):
    from workflows.tasks import sweep

    order = order_for(people.carl, booking)
    PaymentOrder.objects.filter(pk=order.pk).update(created=timezone.now() - timedelta(hours=3))
    assert sweep()["payment_orders_closed"] == 1
    assert sweep()["payment_orders_closed"] == 0
    order.refresh_from_db()
    assert order.status == "closed"


def test_a_new_order_replaces_an_expired_open_one(people, booking):
    old = order_for(people.carl, booking)
    PaymentOrder.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(hours=3))
    new = order_for(people.carl, booking)
    assert new.pk != old.pk and new.status == "pending"
    old.refresh_from_db()
    assert old.status == "closed"


def test_orders_without_a_booking_close_after_the_ttl_too(people):
    order = order_for(people.alice, item="storage_yearly")
    assert services.close_unpaid_orders(order.created + timedelta(hours=2)) == 1
