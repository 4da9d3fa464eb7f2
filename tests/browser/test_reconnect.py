"""A page whose socket dropped misses nothing: a notification pushed while the web server was
down (the page reconnecting) shows once the page is back, fetched with ?after= before the socket
is trusted again. In a real browser, with a real Celery worker and a private Redis."""

from __future__ import annotations

import re

import pytest
from django.db import transaction

from clinic.notifications import services
from tests.browser.test_journey import PHONE, log_in, server_passwords

pytestmark = [pytest.mark.browser, pytest.mark.celery]


def test_a_push_sent_while_the_page_reconnects_still_shows(live_stack, chromium, people):
    server_passwords(people.alice)
    page = chromium.new_context(**PHONE).new_page()
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws))
    log_in(page, live_stack.url, "alice", "/me/bookings/")
    page.wait_for_function("() => document.getElementById('bookings').children.length > 0")
    page.wait_for_timeout(500)  # the first socket is open and has caught up

    # Live: a push reaches the page at once.
    with transaction.atomic():
        services.notify([people.alice], "promotion", context={"title": "first"})
    page.locator("#live", has_text="first").wait_for(timeout=10000)

    # The web server goes away (the page keeps reconnecting); meanwhile a push is sent.
    live_stack.stop_web()
    page.wait_for_timeout(300)
    with transaction.atomic():
        services.notify([people.alice], "promotion", context={"title": "sent while away"})
    live_stack.start_web()
    page.locator("#live", has_text="sent while away").wait_for(timeout=20000)
    assert len(sockets) >= 2  # it did reconnect
    assert re.search("sent while away", page.locator("#live").inner_text())
