"""The task inbox (Viewflow) and the admin in a real browser under the site's strict policy
(scripts from this site or with the request's nonce only, no inline script): every page works
and the browser reports no script, style or frame the policy blocked."""

from __future__ import annotations

import pytest
from viewflow.workflow.models import Task

from clinic.rooms.models import RelayModule
from tests import factories as f
from tests.browser.test_journey import DESK, log_in, server_passwords
from tests.factories import PASSWORD
from tests.workflows.helpers import task_id
from workflows import bookings

pytestmark = [pytest.mark.browser, pytest.mark.celery]


def watch(page) -> list[str]:
    """What the browser says the policy blocked, and any script error, on this page."""
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: blocked.append(f"script error: {error}"))
    return blocked


def test_the_inbox_and_the_admin_run_under_the_strict_policy(live, chromium, people):
    room = f.room("Room A", coil=0, relay=RelayModule.objects.create(host="127.0.0.1", port=1502, unit=1))
    f.weekly_opening(room)
    booking = bookings.request_booking(
        actor=people.alice, donor=people.alice, room_id=room.pk, start=f.at(f.tomorrow(), "09:00")
    )
    root = type(people.adam).objects.create_superuser("root", password="x")
    server_passwords(people.sam, root)

    page = chromium.new_context(**DESK).new_page()
    blocked = watch(page)
    log_in(page, live, "sam", "/workflow/booking/")
    response = page.goto(f"{live}/workflow/booking/queue/")
    assert response.status == 200
    assert "strict-dynamic" not in response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in response.headers["content-security-policy"].split("style-src")[0]
    process = booking.processes.get()
    staff_task = task_id(booking, "staff_review")
    base = f"{live}/workflow/booking/{process.pk}/staff_review/{staff_task}/"
    page.goto(base + "detail/")
    page.goto(base + "assign/")
    page.get_by_role("button", name="领取", exact=True).click()  # "Assign", in zh-Hans
    page.wait_for_load_state("networkidle")
    assert Task.objects.get(pk=staff_task).owner == people.sam
    page.goto(base + "execute/")
    page.wait_for_load_state("networkidle")
    assert 'name="decision"' in page.content() and people.alice.donor_code in page.content()

    admin = chromium.new_context(**DESK).new_page()
    blocked_admin = watch(admin)
    admin.goto(f"{live}/admin/login/?next=/admin/")
    admin.fill("input[name=username]", "root")
    admin.fill("input[name=password]", PASSWORD)
    admin.locator("input[type=submit]").click()
    admin.wait_for_url(f"{live}/admin/")
    for path in ("/admin/", "/admin/accounts/user/", f"/admin/rooms/relaymodule/{room.relay_id}/change/"):
        assert admin.goto(f"{live}{path}").status == 200, path
        admin.wait_for_load_state("networkidle")
    admin.locator("select[name=framing]").select_option("rtu_over_tcp")
    admin.locator("input[name=_save]").click()
    admin.wait_for_load_state("networkidle")
    assert RelayModule.objects.get(pk=room.relay_id).framing == "rtu_over_tcp"
    assert blocked == [] and blocked_admin == [], blocked + blocked_admin
