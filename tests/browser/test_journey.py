"""The whole journey in a real browser: a visitor books from the lobby, staff and the room
manager approve in their consoles, the donor's page turns approved by itself, the door opens."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from clinic.bookings.models import Booking
from clinic.rooms.models import Opening, RelayModule, Room
from tests import factories as f
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.celery]

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}
DESK = {"viewport": {"width": 1366, "height": 768}, "locale": "zh-CN"}


def server_passwords(*users) -> None:
    """The live server checks passwords with the default (slow) hasher, not the tests' fast one."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    hasher = PBKDF2PasswordHasher()
    for user in users:
        user.password = hasher.encode(PASSWORD, hasher.salt())
        user.save(update_fields=["password"])


def next_slot_day_and_start() -> datetime:
    """A slot start a few minutes ahead, its 30-minute window inside one local day."""
    now = timezone.localtime()
    start = (now + timedelta(minutes=10)).replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % 5)
    if start.hour == 23 and start.minute > 25:
        start = (start + timedelta(days=1)).replace(hour=0, minute=30)
    return start


def log_in(page, base: str, username: str, next_path: str) -> None:
    page.goto(f"{base}/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_path) + "$"))


def test_a_visitor_books_and_the_door_opens(live, chromium, sim, screenshots, people):
    server_passwords(people.sam, people.rita)
    start = next_slot_day_and_start()
    day = start.date()
    relay = RelayModule.objects.create(host="127.0.0.1", port=sim.port, unit=1)
    room = Room.objects.create(name="Room Q", relay=relay, coil=4, pulse_ms=600)
    Opening.objects.create(
        room=room, date=day, start_time=start.time(), end_time=(start + timedelta(minutes=30)).time(), slot_minutes=5
    )
    taken = start + timedelta(minutes=5)
    f.booking(people.bob, room, taken, minutes=5)  # that slot has no free room left

    phone = chromium.new_context(**PHONE)
    page = phone.new_page()
    # The lobby QR leads to booking without logging in.
    page.goto(f"{live}/d/lobby")
    page.click("main a[href^='/book/']")
    page.wait_for_url(re.compile(r"/book/"))
    page.click(f"#days button[data-date='{day.isoformat()}']")
    hhmm = start.strftime("%H:%M")
    slot_button = page.locator(f"#slots button[data-start^='{day.isoformat()}T{hhmm}']")
    slot_button.wait_for()
    page.screenshot(path=str(screenshots / "donor-slots-390x844.png"), full_page=False)

    # The slot with no free room is shown differently and cannot be booked.
    full = page.locator(f"#slots button[data-start^='{day.isoformat()}T{taken.strftime('%H:%M')}']")
    assert full.is_disabled()
    assert "full" in (full.get_attribute("class") or "")

    slot_button.click()
    page.click("#rooms button")
    # Not logged in: registration, then back on the same slot.
    page.wait_for_url(re.compile(r"/register/"))
    page.fill("input[name=username]", "walkin")
    page.fill("input[name=password]", "a-Long-pass-2026")
    page.fill("input[name=phone]", "13812345679")
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/book/\?"))
    page.locator("#rooms button").first.wait_for()
    # Back from registering: the room he picked, and no room filter left behind.
    assert "room=" not in page.url and page.locator("#filter").is_hidden()
    page.click("#rooms button")
    page.locator("#rooms [role=alert].ok").wait_for()
    # The confirmation repeats the time and the room, and says what happens next.
    confirmation = page.locator("#rooms").inner_text()
    assert hhmm in confirmation and room.name in confirmation
    booking = Booking.objects.get(donor__username="walkin")
    assert (booking.room, booking.start, booking.status) == (room, start, "pending")

    # The donor keeps "my bookings" open.
    page.goto(f"{live}/me/bookings/")
    page.locator(f"[data-booking='{booking.pk}'] [data-status='pending']").wait_for()
    page.evaluate("window.__not_reloaded = true")

    # Staff approve the donation in their console; the room manager approves the room on his board.
    desk = chromium.new_context(**DESK)
    staff = desk.new_page()
    log_in(staff, live, "sam", "/staff/")
    staff.locator(f"#staff-tasks [data-booking='{booking.pk}'] button.approve").click()
    staff.locator("#staff-tasks-message.ok").wait_for()
    staff.screenshot(path=str(screenshots / "staff-console-1366x768.png"), full_page=False)

    rooms_desk = chromium.new_context(**DESK)
    manager = rooms_desk.new_page()
    log_in(manager, live, "rita", "/rooms/")
    # Her list says how soon each request's slot starts.
    waiting = manager.locator(f"#tasks [data-booking='{booking.pk}'] .left").inner_text()
    assert "分钟后开始" in waiting or waiting == "已开始"
    manager.locator(f"#tasks [data-booking='{booking.pk}'] button.approve").click()
    manager.locator("#tasks-message.ok").wait_for()

    # Pushed over the WebSocket: the donor's page turns approved without a reload.
    page.locator(f"[data-booking='{booking.pk}'] [data-status='approved']").wait_for(timeout=15000)
    assert page.evaluate("window.__not_reloaded === true")
    booking.refresh_from_db()
    assert booking.status == "approved"

    # Staff's day board shows the slot booked, with the donor code only.
    cell = f"#day-board tr[data-start='{timezone.localtime(start).isoformat()}'] td[data-room='{room.pk}']"
    staff.locator(cell + "[data-state=booked]").wait_for()
    assert booking.donor.donor_code in staff.locator(cell).inner_text()

    # At the door: the phone opens the door page and the relay of this room pulses.
    page.goto(f"{live}/d/{room.door_token}")
    page.click("#open")
    page.locator("#result.ok").wait_for()
    assert any(event.relay == 4 and event.on for event in sim.history)
    assert sim.wait_coil(4, False, timeout=3)
    booking.refresh_from_db()
    assert booking.status == "in_progress"
    # ...and, pushed, the board turns the cell "in use" without a reload.
    staff.locator(cell + "[data-state=in_use]").wait_for(timeout=15000)
    for context in (phone, desk, rooms_desk):
        context.close()
