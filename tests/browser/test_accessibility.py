"""axe-core (the script shipped in axe-playwright-python) on every page built from our templates,
in zh-Hans, on a phone (390 px) and a desk screen (1366 px), each page as the person who uses it:
no violations. Viewflow's task pages and Django's admin are not ours: their violations are
reported (printed and written next to the screenshots), never gated. The same run takes the
screenshots the README shows: `make screenshots` (UPDATE_SCREENSHOTS=1) writes them to
docs/screenshots/, any other run to tests/browser/screenshots/ (not kept)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser

from clinic.outreach.services import ask
from clinic.payments.services import open_order
from tests import factories as f
from tests.browser.test_journey import DESK, PHONE, log_in, server_passwords
from workflows import bookings as booking_flow

pytestmark = [pytest.mark.browser, pytest.mark.celery]

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / ("docs/screenshots" if os.environ.get("UPDATE_SCREENSHOTS") else "tests/browser/screenshots")

# (who, path, screenshot name or None). Paths with {...} are filled from the data made below.
OURS = [
    (None, "/", "home"),
    (None, "/d/lobby", "lobby"),
    (None, "/d/{door}", "door"),
    (None, "/book/?date={day}", "book-visitor"),
    (None, "/register/", None),
    (None, "/login/", None),
    (None, "/pay/{reference}", None),
    (None, "/ask/{question}/", None),
    (None, "/d/no-such-door", None),
    (None, "/no-such-page/", None),
    ("alice", "/", None),
    ("alice", "/book/?date={day}", "book"),
    ("alice", "/me/bookings/", "my-bookings"),
    ("alice", "/d/{door}", None),
    ("carl", "/me/payments/", "my-payments"),
    ("alice", "/me/messages/", "messages"),
    ("alice", "/staff/", None),  # forbidden page
    ("sam", "/staff/", "staff"),
    ("sam", "/staff/bookings/", "staff-bookings"),
    ("sam", "/staff/donors/", None),
    ("sam", "/staff/rooms/", None),
    ("sam", "/staff/questions/", None),
    ("sam", "/staff/desk/", "staff-desk"),
    ("rita", "/rooms/", "room-board"),
]
THEIRS = [("sam", "/workflow/"), ("adam", "/admin/")]


def violations(page) -> list[dict]:
    from axe_playwright_python.sync_playwright import Axe

    return Axe().run(page).response["violations"]


def describe(found: list[dict]) -> str:
    return "\n".join(
        f"  {v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:5]}" for v in found
    )


@pytest.fixture
def world(people):
    server_passwords(people.alice, people.carl, people.sam, people.rita, people.adam)
    room = f.room("Room A", coil=0)
    f.weekly_opening(room, start="08:00", end="20:00")
    day = f.tomorrow()
    booking_flow.request_booking(actor=people.alice, donor=people.alice, room_id=room.pk, start=f.at(day, "09:00"))
    paid = booking_flow.request_booking(actor=people.carl, donor=people.carl, room_id=room.pk, start=f.at(day, "10:00"))
    order, _ = open_order(payer=people.carl, item_code="self_preservation_collection", booking_id=paid.pk)
    question = ask(asker=AnonymousUser(), question="周日开门吗？", contact="13812345678")
    return {"door": room.door_token, "day": day.isoformat(), "reference": order.reference, "question": question.token}


@pytest.mark.parametrize("screen", ["phone", "desk"])
def test_our_pages_have_no_accessibility_violations(live, chromium, people, world, screen):
    options, width = (PHONE, 390) if screen == "phone" else (DESK, 1366)
    DOCS.mkdir(parents=True, exist_ok=True)
    contexts: dict[str | None, object] = {}
    found: list[str] = []
    for who, path, shot in OURS:
        if who not in contexts:
            contexts[who] = chromium.new_context(**options)
        page = contexts[who].pages[0] if contexts[who].pages else contexts[who].new_page()
        url = path.format(**world)
        if who is not None and not getattr(page, "_logged_in", False):
            log_in(page, live, who, "/")
            page._logged_in = True
        page.goto(f"{live}{url}")
        page.wait_for_load_state("networkidle")
        problems = violations(page)
        if problems:
            found.append(f"{who or 'visitor'} {url} ({width} px):\n{describe(problems)}")
        if shot:
            page.screenshot(path=str(DOCS / f"{shot}-{width}.png"), full_page=False)
    for context in contexts.values():
        context.close()
    assert not found, "axe-core found violations:\n" + "\n".join(found)


def test_third_party_pages_are_reported(live, chromium, people, world, screenshots):
    """Viewflow's inbox and the admin: what axe-core finds is written down, not gated."""
    report = []
    for who, path in THEIRS:
        context = chromium.new_context(**DESK)
        page = context.new_page()
        log_in(page, live, who, "/")
        response = page.goto(f"{live}{path}")
        page.wait_for_load_state("networkidle")
        assert response is not None and response.status == 200, path  # reported, but it must work
        problems = violations(page)
        report.append(f"{path} as {who}: {len(problems)} violation(s)\n{describe(problems)}")
        if path == "/workflow/":
            # The inbox in zh-Hans, its slots in the clinic's time (tomorrow 09:00 and 10:00).
            text = page.locator("body").inner_text()
            assert "采集预约" in text and "捐献审核" in text and "房间审核" in text
            assert not any(word in text for word in ("Dashboard", "Inbox", "Queue", "Donation review"))
            assert f"{world['day']} 09:00–09:30" in text and f"{world['day']} 10:00–10:30" in text
            page.screenshot(path=str(DOCS / "workflow-inbox-1366.png"), full_page=False)
        context.close()
    text = "\n".join(report)
    (screenshots / "axe-third-party.txt").write_text(text + "\n")
    print(text)
