"""The web server as `make run` starts it (uvicorn, clinic.ops run_platform.web_command), as an
outsider would try it: X-Forwarded-For does not change who he is to the login lockout, a socket
ticket opens one socket once, and no token or ticket from a socket URL reaches the server's log,
nor, behind the nginx example (deploy/nginx/clinic.conf, run by Debian's nginx), nginx's."""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from clinic.accounts.models import AccessToken
from clinic.ops.management.commands.run_platform import web_command
from tests.conftest import IN_CI
from tests.factories import PASSWORD
from tests.realtime.support import ROOT, Process, free_port, service_env, wait_for_port, worker_db_url

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


def nginx_in_front(web_port: int, tmp: Path) -> tuple[list[str], int, int]:
    """deploy/nginx/clinic.conf as an nginx here runs it: plain HTTP on a free port of 127.0.0.1
    instead of TLS on 443 (the test has no certificate; Debian 12's nginx 1.22 has no `http2 on;`),
    the web server under test as the upstream, the logs in `tmp`. Everything else as written.
    Returns the command that runs it (checked with `nginx -t`), its port and its redirect's port
    (the plain-HTTP server)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        message = "nginx is not installed (apt-get install nginx)"
        if IN_CI:
            pytest.fail(message + " (CI=true: a missing package is a failure, never a skip)")
        pytest.skip(message)
    port, redirect_port = free_port(), free_port()
    conf = (ROOT / "deploy" / "nginx" / "clinic.conf").read_text()
    for old, new in [
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{web_port};"),
        ("listen 80;", f"listen 127.0.0.1:{redirect_port};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{port};"),
        ("    http2 on;\n", ""),
        ("    ssl_certificate     /etc/ssl/clinic/fullchain.pem;\n", ""),
        ("    ssl_certificate_key /etc/ssl/clinic/privkey.pem;\n", ""),
    ]:
        assert old in conf, f"deploy/nginx/clinic.conf no longer has {old!r}: update this test"
        conf = conf.replace(old, new)
    conf = conf.replace("/var/log/nginx/", f"{tmp}/")  # its own access_log lines, if any
    (tmp / "clinic.conf").write_text(conf)
    temp_paths = "".join(
        f"    {kind}_temp_path {tmp}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp / "nginx.conf").write_text(
        # The error log at nginx's default level, error, as Debian's nginx.conf has it (below it,
        # e.g. a client closing first, lines quote the request too). Nothing fails here.
        f"daemon off;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n    access_log {tmp}/access.log;\n{temp_paths}    include {tmp}/clinic.conf;\n}}\n"
    )
    command = [nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    return command, port, redirect_port


def test_behind_the_nginx_example_no_socket_credential_reaches_its_access_log(people, server, tmp_path):
    host, _ = server
    web_port = int(host.rsplit(":", 1)[1])
    command, port, redirect_port = nginx_in_front(web_port, tmp_path)
    proxy = Process("nginx", command, tmp_path / "nginx.out").start()
    try:
        wait_for_port(port, proc=proxy.proc)
        token = AccessToken.objects.create(user=people.alice).key
        status, ticket = post(f"http://127.0.0.1:{port}", "/api/ws-ticket/", {}, {"Authorization": f"Token {token}"})
        assert status == 201, ticket
        with connect(f"ws://127.0.0.1:{port}/ws/notifications/?token={token}", open_timeout=10) as socket:
            socket.ping().wait(5)
        with connect(f"ws://127.0.0.1:{port}/ws/notifications/?ticket={ticket['ticket']}", open_timeout=10) as socket:
            socket.ping().wait(5)
        with pytest.raises(InvalidStatus):  # refused by the web server: its answer is logged too
            connect(f"ws://127.0.0.1:{port}/ws/notifications/?token=forged-{token}", open_timeout=10)
        plain = http.client.HTTPConnection("127.0.0.1", redirect_port, timeout=10)  # an app set to ws://
        plain.request("GET", f"/ws/notifications/?token={token}", headers={"Upgrade": "websocket"})
        assert plain.getresponse().status == 301
        plain.close()
    finally:
        proxy.stop()
    access = (tmp_path / "access.log").read_text()
    sockets = [line for line in access.splitlines() if "/ws/notifications/" in line]
    assert len(sockets) == 4, access
    assert [line.split('" ')[1].split()[0] for line in sockets] == ["101", "101", "403", "301"], access
    assert '"GET /ws/notifications/ HTTP/1.1"' in sockets[0]
    assert 'POST /api/ws-ticket/ HTTP/1.1" 201' in access  # the other lines as nginx's default has them
    logs = access + (tmp_path / "error.log").read_text()
    assert token not in logs and ticket["ticket"] not in logs and "token=" not in logs and "ticket=" not in logs
