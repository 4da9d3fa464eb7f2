"""A socket left idle for minutes stays open: a phone waiting for its approval, a staff screen
left on the room board. Over real processes (uvicorn, a Celery worker, a private Redis): a
browser socket (session cookie and Origin) and an app socket (token, no Origin) idle for
IDLE_S seconds side by side, then each receives its user's event on the same connection, and
the server logged no error meanwhile."""

from __future__ import annotations

import json
import os
import time
from contextlib import ExitStack

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import transaction
from websockets.sync.client import connect

from clinic.notifications import services
from tests.realtime.test_push_e2e import token

pytestmark = [pytest.mark.celery, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

IDLE_S = float(os.environ.get("IDLE_SOCKET_SECONDS", 60))


def session_cookie(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = django_settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{django_settings.SESSION_COOKIE_NAME}={session.session_key}"


def test_idle_sockets_stay_open_and_receive_their_events(stack, people):
    with ExitStack() as sockets:
        app = sockets.enter_context(connect(f"{stack.ws}?token={token(people.alice)}", open_timeout=5))
        browser = sockets.enter_context(
            connect(
                stack.ws, origin=stack.base, additional_headers={"Cookie": session_cookie(people.sam)}, open_timeout=5
            )
        )
        began = time.monotonic()
        while time.monotonic() - began < IDLE_S:
            stack.check_alive()
            for ws in (app, browser):
                with pytest.raises(TimeoutError):  # nothing arrives, and the socket is not closed
                    ws.recv(timeout=0.5)

        with transaction.atomic():
            services.notify([people.alice], "booking.reminder", context={"when": "soon", "room": "A"})
            services.notify([people.sam], "promotion", context={"title": "hello"})
        assert json.loads(app.recv(timeout=15))["kind"] == "booking.reminder"
        assert json.loads(browser.recv(timeout=15))["kind"] == "promotion"

    log = stack.server.log()
    for needle in ("Traceback", "TimeoutError", "Exception", "ERROR"):
        assert needle not in log, f"{needle} in the server's log:\n{log[-4000:]}"
