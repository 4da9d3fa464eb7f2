"""booking.reminder: REMINDER_MINUTES before an approved booking starts, once per booking; the
periodic sweep sends reminders and delivers what was left undelivered."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.bookings.models import Booking
from clinic.notifications import services
from clinic.notifications.models import Notification
from tests import factories as f
from tests.realtime.support import channel_layers


@pytest.fixture
def room(db):
    return f.room("Room A")


def booking_in(donor, room, minutes: int, status: str = "approved") -> Booking:
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=minutes)
    return f.booking(donor, room, start, status=status)


def test_an_approved_booking_within_the_window_is_reminded_once(people, room, settings):
    settings.REMINDER_MINUTES = 60
    soon = booking_in(people.alice, room, 45)
    assert services.send_reminders() == 1
    assert services.send_reminders() == 0
    row = Notification.objects.get()
    assert (row.recipient, row.kind, row.booking) == (people.alice, "booking.reminder", soon)
    assert row.title == "Reminder" and "Room A" in row.body
    soon.refresh_from_db()
    assert soon.reminded_at is not None


def test_others_are_not_reminded(people, room, settings):
    settings.REMINDER_MINUTES = 60
    booking_in(people.alice, room, 120)  # too early to remind
    booking_in(people.bob, room, 30, status="pending")
    booking_in(people.carl, room, -5)  # already started
    assert services.send_reminders() == 0
    assert services.send_reminders(now=timezone.now() + timedelta(minutes=61)) == 1
    assert Notification.objects.get().recipient == people.alice


def test_a_reminder_claimed_elsewhere_is_not_sent_again(people, room, settings):
    settings.REMINDER_MINUTES = 60
    soon = booking_in(people.alice, room, 10)
    Booking.objects.filter(pk=soon.pk).update(reminded_at=timezone.now())
    assert services.send_reminders() == 0
    assert not Notification.objects.exists()


@pytest.mark.redis
def test_the_periodic_sweep_reminds_and_delivers(people, room, settings, redis_url):
    from workflows.tasks import sweep

    settings.CHANNEL_LAYERS = channel_layers(redis_url, prefix="test-sweep")
    settings.REMINDER_MINUTES = 60
    booking_in(people.alice, room, 30)
    result = sweep()
    assert (result["reminders_sent"], result["notifications_delivered"]) == (1, 1)
    assert not Notification.objects.filter(delivered_at__isnull=True).exists()
    result = sweep()
    assert (result["reminders_sent"], result["notifications_delivered"]) == (0, 0)
