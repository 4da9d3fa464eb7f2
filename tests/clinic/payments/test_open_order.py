"""Opening orders concurrently: one open order per booking, whatever the timing. Real threads
on a real database, so a transactional test: it runs after the others and an earlier one may
have flushed the roles and the seeded fee items away."""

import threading

import pytest
from django.db import connection

from clinic.payments import services
from clinic.payments.models import FeeItem, PaymentOrder
from tests import factories as f

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_sensitive]


@pytest.fixture(autouse=True)
def _defaults(db):
    f.restore_roles()
    FeeItem.objects.get_or_create(code="self_preservation_collection", defaults={"name": "Fee", "amount_fen": 80000})


def test_racing_requests_for_one_booking_make_one_order(people):
    room = f.room("Room A")
    booking = f.booking(people.carl, room, f.at(f.tomorrow(), "09:00"), purpose="self_preservation", payment="pending")
    barrier = threading.Barrier(4)
    results, errors = [], []

    def attempt():
        try:
            barrier.wait()
            order, created = services.open_order(
                payer=people.carl, item_code="self_preservation_collection", booking_id=booking.pk
            )
            results.append((order.pk, created))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len({pk for pk, _ in results}) == 1
    assert [created for _, created in results].count(True) == 1
    assert PaymentOrder.objects.filter(booking=booking).count() == 1
