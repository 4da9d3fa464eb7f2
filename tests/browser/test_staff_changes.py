"""Changes staff make, seen by the donor, in real browsers (zh-Hans; staff at a desk, the donor on
his phone): a cancellation with its reason arrives live on his page; a closure over his booking is
refused until staff confirm the list of bookings it cancels, then he is told why, and the closure
is listed and can be reopened."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.bookings.models import Booking
from clinic.notifications.models import Notification
from clinic.rooms.models import Closure
from tests import factories as f
from tests.browser.test_journey import DESK, PHONE, log_in, server_passwords
from workflows import bookings as booking_flow

pytestmark = [pytest.mark.browser, pytest.mark.celery]


def answering(page, answers: list[str], seen: list[str]) -> None:
    """Dialogs are answered in turn: a prompt with the next answer, a confirm with OK."""

    def handle(dialog) -> None:
        seen.append(dialog.message)
        if dialog.type == "prompt":
            dialog.accept(answers.pop(0))
        else:
            dialog.accept()

    page.on("dialog", handle)


@pytest.fixture
def setting(people):
    server_passwords(people.alice, people.sam)
    room = f.room("Room A", coil=0)
    f.weekly_opening(room, start="08:00", end="20:00")
    booking = booking_flow.request_booking(
        actor=people.alice, donor=people.alice, room_id=room.pk, start=f.at(f.tomorrow(), "09:00")
    )
    return room, booking


def test_staff_cancel_and_the_donor_sees_why_live(live, chromium, people, setting):
    _room, booking = setting
    phone = chromium.new_context(**PHONE)
    donor = phone.new_page()
    log_in(donor, live, "alice", "/me/bookings/")
    donor.locator(f"[data-booking='{booking.pk}'] [data-status=pending]").wait_for()

    desk = chromium.new_context(**DESK)
    staff = desk.new_page()
    seen: list[str] = []
    answering(staff, ["医生临时休假"], seen)
    log_in(staff, live, "sam", "/staff/bookings/")
    staff.locator(f"#bookings-table tr[data-booking='{booking.pk}'] button", has_text="取消").click()
    staff.locator("#bookings-message.ok").wait_for()
    assert len(seen) == 2 and booking.donor.donor_code in seen[1]  # the reason asked, then a confirmation

    # Live on his page, without reloading: the status and why.
    donor.locator(f"[data-booking='{booking.pk}'] [data-status=cancelled]").wait_for()
    donor.locator("#live", has_text="医生临时休假").wait_for()
    assert Booking.objects.get(pk=booking.pk).status == "cancelled"
    note = Notification.objects.get(recipient=people.alice, kind="booking.changed")
    assert "医生临时休假" in note.body
    for context in (phone, desk):
        context.close()


def test_a_closure_over_a_booking_is_confirmed_then_told_and_can_be_reopened(live, chromium, people, setting):
    room, booking = setting
    day = f.tomorrow()
    desk = chromium.new_context(**DESK)
    staff = desk.new_page()
    seen: list[str] = []
    answering(staff, [], seen)
    log_in(staff, live, "sam", "/staff/rooms/")
    card = staff.locator(f"#rooms-list [data-room='{room.pk}'], [data-room='{room.pk}']").first
    card.locator("input[name=start_date]").fill(day.isoformat())
    card.locator("input[name=end_date]").fill((day + timedelta(days=1)).isoformat())
    card.locator("input[name=reason]").fill("设备检修")
    card.locator("form:has(input[name=start_date]) button[type=submit]").click()
    card.locator(".closures li").wait_for()
    # Refused first with the list (his donor code and time), closed only once staff agreed.
    (asked,) = seen
    assert booking.donor.donor_code in asked and "09:00" in asked
    closure = Closure.objects.get(room=room)
    assert (closure.start_date, closure.reason) == (day, "设备检修")
    assert Booking.objects.get(pk=booking.pk).status == "cancelled"
    note = Notification.objects.get(recipient=people.alice, kind="booking.changed")
    assert "设备检修" in note.body

    card.locator(f".closures li[data-closure='{closure.pk}'] button").click()
    card.locator(".closures li").wait_for(state="detached")
    assert not Closure.objects.exists()
    assert len(seen) == 2 and day.isoformat() in seen[1]
    desk.close()
