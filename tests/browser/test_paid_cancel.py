"""A paid booking cancelled in a real browser (zh-Hans, phone): the confirmation warns that the
payment is kept, My payments says it is credit, the next booking is paid by it; at the desk
(1366 px) staff see credits and refund one after confirming."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.bookings.models import Booking
from clinic.payments.models import PaymentOrder
from clinic.payments.services import confirm_at_desk, open_order
from tests import factories as f
from tests.browser.test_donor_journey import book_first_free
from tests.browser.test_journey import DESK, PHONE, log_in, server_passwords

pytestmark = [pytest.mark.browser, pytest.mark.celery]


def test_a_cancelled_paid_booking_pays_the_next_one(live, chromium, people, screenshots):
    server_passwords(people.carl, people.sam)
    room = f.room("Room A", coil=0)
    f.weekly_opening(room, start="08:00", end="20:00")
    phone = chromium.new_context(**PHONE)
    page = phone.new_page()
    dialogs: list[str] = []

    def answer(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    log_in(page, live, "carl", "/")
    book_first_free(page, live, f.tomorrow())
    first = Booking.objects.get(donor=people.carl)
    order, _ = open_order(payer=people.carl, item_code="self_preservation_collection", booking_id=first.pk)
    confirm_at_desk(order_id=order.pk, actor=people.sam)

    page.goto(f"{live}/me/bookings/")
    card = page.locator(f"[data-booking='{first.pk}']")
    card.get_by_role("button", name="取消此预约").click()
    page.locator(f"[data-booking='{first.pk}'] [data-status=cancelled]").wait_for()
    (asked,) = dialogs
    assert "抵扣" in asked  # "what you paid is kept as credit for your next booking"
    assert asked.startswith("确定取消 ") and "{" not in asked and "%" not in asked  # the time, in zh-Hans
    assert "抵扣" in page.locator("#bookings-message").inner_text()

    page.goto(f"{live}/me/payments/")
    page.locator(f"[data-order='{order.pk}'] [data-credit]").wait_for()
    page.screenshot(path=str(screenshots / "payments-credit-390x844.png"), full_page=True)

    book_first_free(page, live, f.tomorrow() + timedelta(days=1))
    second = Booking.objects.filter(donor=people.carl).exclude(pk=first.pk).get()
    assert second.payment == "paid"
    assert PaymentOrder.objects.get().booking_id == second.pk
    page.goto(f"{live}/me/payments/")
    page.locator(f"[data-order='{order.pk}'] [data-status=paid]").wait_for()
    assert page.locator("#due").inner_text().strip() == "暂无待缴费用。"  # nothing to pay

    # The new booking is cancelled too: staff refund the credit at the desk.
    Booking.objects.filter(pk=second.pk).update(status="cancelled")
    desk = chromium.new_context(**DESK)
    staff = desk.new_page()
    staff_dialogs: list[str] = []

    def staff_answer(dialog) -> None:
        staff_dialogs.append(dialog.message)
        dialog.accept("客户搬家" if dialog.type == "prompt" else None)

    staff.on("dialog", staff_answer)
    log_in(staff, live, "sam", "/staff/desk/")
    desk_card = staff.locator(f"#desk-orders [data-order='{order.pk}']")
    desk_card.get_by_role("button", name="退款").click()
    staff.get_by_role("button", name="已退还现金").wait_for()
    assert len(staff_dialogs) == 2 and staff_dialogs[1] == f"确定为订单 {order.reference} 退款 ¥ 800.00 吗？"
    assert PaymentOrder.objects.get().status == "refund_pending"
    staff.get_by_role("button", name="已退还现金").click()
    staff.locator("#desk-message").wait_for()
    for _ in range(50):
        if PaymentOrder.objects.get().status == "refunded":
            break
        staff.wait_for_timeout(100)
    assert PaymentOrder.objects.get().status == "refunded"
    page.goto(f"{live}/me/payments/")
    page.locator(f"[data-order='{order.pk}'] [data-status=refunded]").wait_for()
    for context in (phone, desk):
        context.close()
