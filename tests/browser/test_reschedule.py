"""A donor moves his own booking in a real browser (zh-Hans, phone): from My bookings to the free
times, a day named 明天/weekday, times grouped by part of day, and a confirmation that repeats the
new time and room."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import factories as f
from tests.browser.test_journey import PHONE, log_in, server_passwords
from workflows import bookings as booking_flow

pytestmark = [pytest.mark.browser, pytest.mark.celery]


def test_a_donor_moves_his_booking(live, chromium, people, screenshots):
    server_passwords(people.alice)
    room = f.room("Room A", coil=0)
    f.weekly_opening(room, start="08:00", end="20:00")
    booking = booking_flow.request_booking(
        actor=people.alice, donor=people.alice, room_id=room.pk, start=f.at(f.tomorrow(), "09:00")
    )
    later = f.tomorrow() + timedelta(days=2)
    phone = chromium.new_context(**PHONE)
    page = phone.new_page()
    log_in(page, live, "alice", "/me/bookings/")
    page.locator(f"[data-booking='{booking.pk}'] a.move").click()
    page.locator("#moving").wait_for()
    assert page.locator("#days button[aria-pressed=true] .name").inner_text() == "明天"
    page.click(f"#days button[data-date='{later.isoformat()}']")
    evening = page.locator("#slots section[data-part=evening]")
    evening.locator("h2").wait_for()
    assert evening.locator("h2").inner_text() == "晚上"
    assert page.locator("#slots section[data-part=morning] h2").inner_text() == "上午"
    page.screenshot(path=str(screenshots / "book-move-390x844.png"), full_page=False)
    page.click(f"#slots button[data-start^='{later.isoformat()}T18:30']")
    page.click("#rooms button[data-room]")
    page.locator("#booked").wait_for()
    text = page.locator("#rooms").inner_text()
    assert "已改到" in text and "18:30" in text and "Room A" in text
    booking.refresh_from_db()
    assert (booking.start, booking.status) == (f.at(later, "18:30"), "pending")
    phone.close()
