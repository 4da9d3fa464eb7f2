"""The donor journey in a real browser: an applicant books his screening, staff qualify him in
their console, he books a donation; a second donor joins a full day's waiting list and books the
slot offered to him from the live notification."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.accounts.models import DonorProfile
from clinic.bookings.models import Booking, SlotHold, WaitlistEntry
from clinic.rooms.models import Closure, Opening, Room
from tests import factories as f
from tests.browser.test_journey import DESK, PHONE, log_in, server_passwords
from workflows import bookings as booking_flow

pytestmark = [pytest.mark.browser, pytest.mark.celery]


def book_first_free(page, base: str, day) -> None:
    page.goto(f"{base}/book/?date={day.isoformat()}")
    page.locator("#slots button:not([disabled])").first.click()
    page.locator("#rooms button").first.click()
    page.locator("#rooms [role=alert].ok").wait_for()


def test_an_applicant_is_screened_qualified_and_donates(live, chromium, people, screenshots):
    newbie = f.client_user("newbie", real_name="New Bie", phone="13800000077", donor_status="applicant")
    server_passwords(newbie, people.sam)
    room = f.room("Room A", coil=0)
    f.weekly_opening(room, start="08:00", end="20:00")
    screening_day, donation_day = f.tomorrow(), f.tomorrow() + timedelta(days=5)

    phone = chromium.new_context(**PHONE)
    page = phone.new_page()
    log_in(page, live, "newbie", "/")
    assert "初筛" in page.locator("#journey").inner_text()  # "your first visit is a screening"
    book_first_free(page, live, screening_day)
    assert page.locator("#rooms a.calendar").count() == 1  # "add to my calendar" on the confirmation
    screening = Booking.objects.get(donor=newbie)
    assert screening.purpose == "screening"
    # His screening visit happens (as the door would record it).
    Booking.objects.filter(pk=screening.pk).update(status="completed")

    desk = chromium.new_context(**DESK)
    staff = desk.new_page()
    log_in(staff, live, "sam", "/staff/donors/")
    staff.fill("#donor-search input[name=q]", "New Bie")
    staff.click("#donor-search button[type=submit]")
    row = staff.locator(f"#donors-table tr[data-donor='{newbie.donor_code}']")
    row.locator("select[name=donor_status]").select_option("qualified")
    row.locator("input[name=note]").fill("analysis and tests clear")
    row.locator("button[type=submit]").click()
    staff.locator("#donors-message.ok").wait_for()
    staff.screenshot(path=str(screenshots / "staff-donors-1366x768.png"), full_page=False)
    assert DonorProfile.objects.get(user=newbie).donor_status == "qualified"

    book_first_free(page, live, donation_day)
    donation = Booking.objects.filter(donor=newbie).exclude(pk=screening.pk).get()
    assert donation.purpose == "donation"
    page.goto(f"{live}/me/bookings/")
    page.locator(f"[data-booking='{donation.pk}'] a.calendar").wait_for()
    for context in (phone, desk):
        context.close()


def test_a_donor_waits_for_a_full_day_and_books_the_offered_slot(live, chromium, people, screenshots):
    server_passwords(people.bob)
    day = f.tomorrow() + timedelta(days=2)
    main = f.room("Room A", coil=0)
    f.weekly_opening(main, start="08:00", end="20:00")
    Closure.objects.create(room=main, start_date=day, end_date=day, reason="maintenance")
    small = Room.objects.create(name="Room W", coil=3)
    Opening.objects.create(
        room=small, date=day, start_time=f.at(day, "10:00").time(), end_time=f.at(day, "10:30").time(), slot_minutes=30
    )
    dora = f.client_user("dora", phone="13800000004")
    taken = booking_flow.request_booking(actor=dora, donor=dora, room_id=small.pk, start=f.at(day, "10:00"))

    phone = chromium.new_context(**PHONE)
    page = phone.new_page()
    log_in(page, live, "bob", "/")
    page.goto(f"{live}/book/?date={day.isoformat()}")
    assert page.locator("#slots button:not([disabled])").count() == 0
    page.click("#waitlist button[type=submit]")
    page.locator("#waitlist-message.ok").wait_for()
    assert WaitlistEntry.objects.get(client=people.bob).state == "waiting"

    page.goto(f"{live}/me/bookings/")
    page.locator("#waitlist [data-state='waiting']").wait_for()
    page.evaluate("window.__not_reloaded = true")
    # Dora cancels: the slot is offered to bob, pushed to his open page.
    booking_flow.cancel_booking(booking_id=taken.pk, actor=dora)
    offer = page.locator("#waitlist button.book-offer")
    offer.wait_for(timeout=15000)
    assert page.evaluate("window.__not_reloaded === true")
    assert "10:00" in page.locator("#waitlist .offer").inner_text()
    page.screenshot(path=str(screenshots / "donor-waitlist-offer-390x844.png"), full_page=False)
    offer.click()
    page.locator("[data-booking] [data-status='pending']").wait_for()
    booking = Booking.objects.get(donor=people.bob)
    assert (booking.room, booking.start) == (small, f.at(day, "10:00"))
    assert SlotHold.objects.get(client=people.bob).state == "used"
    assert WaitlistEntry.objects.get(client=people.bob).state == "booked"
    phone.close()
