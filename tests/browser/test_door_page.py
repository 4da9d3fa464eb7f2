"""The door page in a real browser, in zh-Hans on a phone: before the session it shows the slot
and "open the door"; during it "open again" and "finish and leave" (confirmed); after it
"finished at HH:MM", never "no booking". The room manager's board follows live."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from clinic.bookings.models import Booking
from clinic.rooms.models import RelayModule
from tests import factories as f
from tests.browser.test_journey import DESK, PHONE, log_in, server_passwords
from tests.doors.helpers import approved_booking, current_slot, open_all_day

pytestmark = [pytest.mark.browser, pytest.mark.celery]


def test_the_door_page_says_what_a_tap_will_do(live, chromium, sim, screenshots, people):
    server_passwords(people.alice, people.rita)
    relay = RelayModule.objects.create(host="127.0.0.1", port=sim.port, unit=1)
    room = f.room("Room D", coil=6, relay=relay, pulse_ms=300)
    open_all_day(room)
    booking = approved_booking(people, room, current_slot())
    start = timezone.localtime(booking.start)

    board = chromium.new_context(**DESK).new_page()
    log_in(board, live, "rita", "/rooms/")
    board.locator(f"#board [data-room='{room.pk}']").wait_for()
    assert board.locator(f"#board [data-room='{room.pk}']").get_attribute("data-state") != "in_use"

    page = chromium.new_context(**PHONE).new_page()
    log_in(page, live, "alice", f"/d/{room.door_token}")
    assert page.locator("html").get_attribute("lang") == "zh-hans"

    # Before: his slot, and one thing to do.
    before = page.locator("#state-before")
    before.wait_for()
    assert f"{start:%H:%M}" in before.inner_text()
    assert page.locator("#open").inner_text() == "开门"
    assert page.locator("#state-during").is_hidden() and page.locator("#state-after").is_hidden()
    page.screenshot(path=str(screenshots / "door-before-390x844.png"))

    page.click("#open")
    page.locator("#result.ok").wait_for()
    assert sim.wait_coil(6, False, timeout=3)
    assert [(e.relay, e.on) for e in sim.history] == [(6, True), (6, False)]

    # During: open again (a missed door), or finish and leave.
    page.locator("#state-during").wait_for()
    assert page.locator("#again").inner_text() == "再开一次"
    assert page.locator("#finish").inner_text() == "结束并离开"
    page.screenshot(path=str(screenshots / "door-during-390x844.png"))
    board.locator(f"#board [data-room='{room.pk}'][data-state='in_use']").wait_for(timeout=10000)

    page.click("#again")
    page.locator("#result.ok").wait_for()
    assert sim.wait_coil(6, False, timeout=3)
    assert [e.on for e in sim.history] == [True, False, True, False]
    assert Booking.objects.get(pk=booking.pk).status == "in_progress"

    # Finish asks first; "not yet" changes nothing.
    page.click("#finish")
    page.locator("#confirm").wait_for()
    page.click("#confirm-no")
    assert page.locator("#confirm").is_hidden()
    assert Booking.objects.get(pk=booking.pk).status == "in_progress"
    page.click("#finish")
    page.click("#confirm-yes")

    # After: when it finished.
    after = page.locator("#state-after")
    after.wait_for()
    booking.refresh_from_db()
    assert booking.status == "completed"
    finished = f"{timezone.localtime(booking.checked_out_at):%H:%M}"
    assert page.locator("#finished-at").inner_text() == finished
    assert len(sim.history) == 4
    page.screenshot(path=str(screenshots / "door-after-390x844.png"))
    board.locator(f"#board [data-room='{room.pk}']:not([data-state='in_use'])").wait_for(timeout=10000)

    # Coming back to the page (or scanning the code again) still says so.
    page.goto(f"{live}/d/{room.door_token}")
    assert re.search(rf"{finished}", page.locator("#state-after").inner_text())
    assert page.locator("#state-none").is_hidden() and page.locator("#state-before").is_hidden()
