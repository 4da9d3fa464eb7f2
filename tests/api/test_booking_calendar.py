"""GET /api/bookings/{id}/calendar.ics: the owner's booking as a discreet calendar event, read
back with the `icalendar` package."""

from __future__ import annotations

import icalendar
import pytest

from tests import factories as f


@pytest.fixture
def booking(people):
    room = f.room("Collection room 3", coil=0)
    f.weekly_opening(room)
    return f.booking(people.alice, room, f.at(f.tomorrow(), "19:00"), status="approved")


def fetch(client, booking, **headers):
    return client.get(f"/api/bookings/{booking.pk}/calendar.ics", **headers)


@pytest.mark.zh
def test_the_owner_gets_an_event_at_the_time_and_nothing_else(people, client_for, booking, settings):
    response = fetch(client_for(people.alice), booking)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response["Content-Disposition"] and "appointment.ics" in response["Content-Disposition"]
    assert response["Cache-Control"] == "private, no-store"
    calendar = icalendar.Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == booking.start and event.decoded("DTEND") == booking.end
    assert str(event["SUMMARY"]) == "预约"  # "Appointment", in the site's language
    assert str(event["STATUS"]) == "CONFIRMED"
    assert "LOCATION" not in event and "URL" not in event and "DESCRIPTION" not in event
    text = response.content.decode().lower()
    for word in ("clinic", "sperm", "donat", "collection", "room", "bank", "精", "诊所", "捐", "采集", "localhost"):
        assert word not in text, word
    assert not settings.SITE_URL or settings.SITE_URL.lower() not in text


def test_the_same_booking_keeps_its_uid_and_a_cancelled_one_says_so(people, client_for, booking):
    first = icalendar.Calendar.from_ical(fetch(client_for(people.alice), booking).content).walk("VEVENT")[0]
    booking.status = "cancelled"
    booking.save()
    again = icalendar.Calendar.from_ical(fetch(client_for(people.alice), booking).content).walk("VEVENT")[0]
    assert str(first["UID"]) == str(again["UID"])
    assert str(again["STATUS"]) == "CANCELLED"
    assert int(again["SEQUENCE"]) >= int(first["SEQUENCE"])


def test_a_pending_booking_is_tentative(people, client_for, booking):
    booking.status = "pending"
    booking.save()
    event = icalendar.Calendar.from_ical(fetch(client_for(people.alice), booking).content).walk("VEVENT")[0]
    assert str(event["STATUS"]) == "TENTATIVE"


def test_a_calendar_app_asking_for_text_calendar_alone_gets_it(people, client_for, booking):
    response = fetch(client_for(people.alice), booking, HTTP_ACCEPT="text/calendar")
    assert response.status_code == 200
    assert icalendar.Calendar.from_ical(response.content).walk("VEVENT")


@pytest.mark.parametrize("persona", ["bob", "sam", "rita", "carl"])
def test_nobody_but_the_owner_gets_it(people, client_for, booking, persona):
    response = fetch(client_for(getattr(people, persona)), booking)
    assert response.status_code == 404
    assert b"VCALENDAR" not in response.content


def test_a_visitor_must_log_in(client_for, booking):
    assert fetch(client_for(None), booking).status_code == 401
