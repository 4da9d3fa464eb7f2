"""clinic.locking's waitlist lock on PostgreSQL: bookings of different days do not wait for each
other; the same day, or the whole list, does. Real transactions, one connection per thread."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import OperationalError, connection, transaction

from clinic import locking

pytestmark = pytest.mark.django_db(transaction=True)

MONDAY, TUESDAY = date(2026, 12, 7), date(2026, 12, 8)


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's IMMEDIATE transactions serialise every writer: there is no lock to share")


def try_lock(days) -> str:
    """In another thread and transaction: take the waitlist lock for `days`, giving up after
    300 ms; "taken" or "waited"."""
    result: list[str] = []

    def run() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '300ms'")
                try:
                    locking.waitlist_lock(days)
                    result.append("taken")
                except OperationalError as exc:
                    assert getattr(exc.__cause__, "sqlstate", None) == locking.LOCK_NOT_AVAILABLE, exc
                    result.append("waited")
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=10)
    return result[0]


def test_a_day_held_stops_that_day_and_the_whole_list_but_not_another_day():
    with transaction.atomic():
        locking.waitlist_lock([MONDAY])
        assert try_lock([TUESDAY]) == "taken"
        assert try_lock([MONDAY]) == "waited"
        assert try_lock([TUESDAY, MONDAY]) == "waited"
        assert try_lock(None) == "waited"
    assert try_lock([MONDAY]) == "taken"  # released with the transaction


def test_the_whole_list_held_stops_every_day():
    with transaction.atomic():
        locking.waitlist_lock()
        assert try_lock([TUESDAY]) == "waited"
        assert try_lock(None) == "waited"
    assert try_lock([TUESDAY]) == "taken" and try_lock(None) == "taken"


def test_it_is_held_only_inside_a_transaction():
    with pytest.raises(RuntimeError):
        locking.waitlist_lock([MONDAY])


def test_the_days_a_booking_and_an_offer_lock(settings):
    from clinic.bookings.waitlist import days_checked, days_offered_against
    from tests import factories as f

    settings.ARRIVAL_GAP_MINUTES = 0
    assert days_checked(f.at(MONDAY, "23:30"), f.at(TUESDAY, "00:00")) == [MONDAY]  # ends at midnight
    assert days_offered_against(MONDAY) == [MONDAY]
    settings.ARRIVAL_GAP_MINUTES = 15
    assert days_checked(f.at(MONDAY, "09:00"), f.at(MONDAY, "09:30")) == [MONDAY]
    assert days_checked(f.at(MONDAY, "23:50"), f.at(TUESDAY, "00:00")) == [MONDAY, TUESDAY]  # a hold at 00:00
    assert days_checked(f.at(TUESDAY, "00:10"), f.at(TUESDAY, "00:40")) == [MONDAY, TUESDAY]  # one at 23:59
    assert days_offered_against(TUESDAY) == [MONDAY, TUESDAY, date(2026, 12, 9)]
