"""The web server as `make run` starts it (uvicorn, clinic.ops run_platform.web_command), as an
outsider would try it: X-Forwarded-For does not change who he is to the login lockout, a socket
ticket opens one socket once, and no token or ticket from a socket URL reaches the server's log."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from clinic.accounts.models import AccessToken
from clinic.ops.management.commands.run_platform import web_command
from tests.factories import PASSWORD
from tests.realtime.support import Process, free_port, service_env, wait_for_port, worker_db_url

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def post(base: str, path: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        base + path, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture
def server(people, tmp_path, redis_url):
    port = free_port()
    env = service_env(worker_db_url(), redis_url) | {"SITE_URL": f"http://127.0.0.1:{port}", "LOG_LEVEL": "INFO"}
    web = Process("web", web_command(sys.executable, port), tmp_path / "web.log", env).start()
    try:
        wait_for_port(port, deadline_s=30, proc=web.proc)
        yield f"127.0.0.1:{port}", web
    finally:
        web.stop()


def test_a_forwarded_for_header_does_not_make_a_guesser_someone_else(server):
    host, _ = server
    for n in range(5):
        status, _ = post(
            f"http://{host}",
            "/api/auth/token/",
            {"username": "sam", "password": "wrong"},
            {"X-Forwarded-For": f"10.9.0.{n}"},
        )
        assert status == 400
    status, body = post(
        f"http://{host}",
        "/api/auth/token/",
        {"username": "sam", "password": PASSWORD},
        {"X-Forwarded-For": "10.9.0.99"},
    )
    assert (status, body["code"]) == (429, "account_locked")


def test_a_socket_ticket_opens_one_socket_once_and_no_credential_is_logged(people, server):
    host, web = server
    token = AccessToken.objects.create(user=people.alice).key  # (this process hashes test passwords its own way)
    status, ticket = post(f"http://{host}", "/api/ws-ticket/", {}, {"Authorization": f"Token {token}"})
    assert status == 201 and ticket["expires_in"] == 60
    with connect(f"ws://{host}/ws/notifications/?ticket={ticket['ticket']}", open_timeout=10) as socket:
        socket.ping().wait(5)
    with pytest.raises(InvalidStatus):  # single use
        connect(f"ws://{host}/ws/notifications/?ticket={ticket['ticket']}", open_timeout=10)
    with connect(f"ws://{host}/ws/notifications/?token={token}", open_timeout=10):  # existing apps
        pass
    with pytest.raises(InvalidStatus):  # a foreign origin, even with a valid token
        connect(f"ws://{host}/ws/notifications/?token={token}", origin="http://127.0.0.1:1", open_timeout=10)
    log = web.log()
    assert "/ws/notifications/" in log  # the server does log the sockets
    assert token not in log and ticket["ticket"] not in log
    assert "token=[redacted]" in log
