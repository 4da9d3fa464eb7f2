"""A visitor's question answered, in a real browser (zh-Hans): he asks from the lobby page on his
phone and leaves his number, staff answer at the desk, the Celery worker texts him the private
link (a recording SMS backend), the link shows the answer, and staff still find it under
"answered"."""

from __future__ import annotations

import re

import pytest

from clinic.outreach.models import Consultation
from tests.browser.test_journey import DESK, PHONE, log_in, server_passwords
from tests.faults.sms import texts

pytestmark = [pytest.mark.browser, pytest.mark.celery]


def test_a_visitor_gets_his_answer_by_sms(live_stack, chromium, people, screenshots):
    live = live_stack.url
    server_passwords(people.sam)
    phone = chromium.new_context(**PHONE)
    visitor = phone.new_page()
    visitor.goto(f"{live}/d/lobby")
    visitor.fill("#ask textarea[name=question]", "周日开门吗？")
    visitor.fill("#ask input[name=contact]", "138 1234 5678")
    visitor.click("#ask button[type=submit]")
    link = visitor.locator("#question-link")
    link.wait_for()
    question = Consultation.objects.get()
    assert link.get_attribute("href").endswith(f"/ask/{question.token}/")

    desk = chromium.new_context(**DESK)
    staff = desk.new_page()
    log_in(staff, live, "sam", "/staff/questions/")
    card = staff.locator(f"#questions [data-question='{question.pk}']")
    card.locator("textarea").fill("周日上午9点到12点开放。")
    card.get_by_role("button", name="回复").click()
    card.wait_for(state="detached")

    for _ in range(100):  # the worker sends it
        if texts(live_stack.sms_log):
            break
        staff.wait_for_timeout(100)
    (line,) = texts(live_stack.sms_log)
    what, number, text = line.split(" ", 2)
    assert (what, number) == (f"q{question.pk}", "13812345678")
    sent_link = re.search(r"https?://\S+/ask/[\w-]+/", text)[0]
    assert sent_link.endswith(f"/ask/{question.token}/")
    assert "周日上午" not in text  # the answer stays behind the link

    visitor.goto(f"{live}/ask/{question.token}/")
    assert "周日上午9点到12点开放。" in visitor.locator("#answer").inner_text()
    visitor.screenshot(path=str(screenshots / "question-answered-390x844.png"), full_page=True)

    staff.get_by_role("button", name="已回复").click()
    staff.locator(f"#questions [data-question='{question.pk}'] .notice").wait_for()
    assert "周日上午" in staff.locator(f"#questions [data-question='{question.pk}']").inner_text()
    for context in (phone, desk):
        context.close()
