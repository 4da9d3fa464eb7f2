"""`make prod-check`: the whole stack, locally, in production mode, and a smoke test over HTTP.

Starts, on this machine only: a PostgreSQL database `clinic_prodcheck` (dropped and created
anew), Redis database 13 (flushed), migrations, collectstatic, the demo data, the relay
simulator, gunicorn with two uvicorn workers (clinic.asgi), a Celery worker and beat. Then,
over real HTTP with the proxy's `X-Forwarded-Proto: https`: health, security headers, a static
file, token logins, a room on the simulator with an opening today, a booking, both approvals
(and the staff member's live notification over the WebSocket), the door scan pulsing relay 7
on the simulator, the beat's sweep run by the worker.

Every step prints ✓ or ✗; any ✗ makes the exit status non-zero. Everything started is stopped
(process groups terminated) whatever happens. Logs stay in the directory printed at the start.

Environment: PRODCHECK_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/clinic_prodcheck),
PRODCHECK_REDIS_URL (default redis://127.0.0.1:6379/13).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CLINIC_TZ = ZoneInfo("Asia/Shanghai")
DATABASE_URL = os.environ.get("PRODCHECK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinic_prodcheck")
REDIS_URL = os.environ.get("PRODCHECK_REDIS_URL", "redis://127.0.0.1:6379/13")
DEADLINE_S = 170  # the whole check, start to teardown
COIL = 7
PULSE_MS = 500
SEEDED = {"staff": "staff-demo-2026", "roommgr": "roommgr-demo-2026", "donor": "donor-demo-2026"}

USE_COLOR = sys.stdout.isatty()
OK = "\033[32m✓\033[0m" if USE_COLOR else "✓"
FAIL = "\033[31m✗\033[0m" if USE_COLOR else "✗"


class CheckFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, test: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = test()
            if result:
                return result
        except Exception as exc:
            last = exc
        time.sleep(interval)
    raise CheckFailed(f"{what}: not within {timeout:.0f} s" + (f" ({last})" if last else ""))


# --- processes ----------------------------------------------------------------------------


class Stack:
    """The started processes, each in its own process group, and their logs."""

    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs = logs
        self.env = env
        self.children: list[tuple[str, subprocess.Popen]] = []

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def run(self, name: str, *args: str, timeout: float = 120) -> None:
        """A one-off command (migrate, collectstatic...): must succeed."""
        with open(self.log(name), "ab") as out:
            result = subprocess.run(
                [PYTHON, *args], cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout
            )
        if result.returncode != 0:
            raise CheckFailed(f"{name} exited with {result.returncode}:\n{tail(self.log(name))}")

    def start(self, name: str, *args: str) -> subprocess.Popen:
        out = open(self.log(name), "ab")
        process = subprocess.Popen(
            [PYTHON, *args], cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        self.children.append((name, process))
        return process

    def check_alive(self) -> None:
        for name, process in self.children:
            if process.poll() is not None:
                raise CheckFailed(f"{name} stopped (exit {process.returncode}):\n{tail(self.log(name))}")

    def stop(self) -> None:
        for _, process in reversed(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _, process in self.children:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        # Grandchildren (gunicorn's and celery's workers) share the group: make sure none is left.
        for _, process in self.children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log)"
    return "\n".join("    " + line for line in text[-lines:])


# --- HTTP ---------------------------------------------------------------------------------


def lower_keys(items) -> dict[str, str]:
    """Header names in lower case (HTTP/1.1 servers may send either)."""
    return {name.lower(): value for name, value in items}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Http:
    """Requests as the TLS proxy would forward them (X-Forwarded-Proto: https)."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.opener = urllib.request.build_opener(NoRedirect)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        https: bool = True,
        timeout: float = 10,
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"Accept": "application/json", "Accept-Language": "en"}
        if https:
            headers["X-Forwarded-Proto"] = "https"
        if token:
            headers["Authorization"] = f"Token {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)  # noqa: S310 - http://127.0.0.1 only
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, lower_keys(response.headers.items()), response.read()
        except urllib.error.HTTPError as error:
            return error.code, lower_keys(error.headers.items()), error.read()

    def json(self, method: str, path: str, body: Any = None, token: str | None = None, expect: int = 200) -> Any:
        status, _, content = self.request(method, path, body, token)
        if status != expect:
            raise CheckFailed(f"{method} {path}: {status} (expected {expect}) {content[:300]!r}")
        return json.loads(content) if content else None


# --- the check ----------------------------------------------------------------------------


class Report:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.started = time.monotonic()

    def step(self, title: str, action: Callable[[], str | None], *, fatal: bool = True) -> bool:
        began = time.monotonic()
        try:
            detail = action()
        except Exception as exc:
            message = str(exc) if isinstance(exc, CheckFailed) else f"{type(exc).__name__}: {exc}"
            print(f"{FAIL} {title} ({time.monotonic() - began:.1f} s)\n    {message}", flush=True)
            self.failures.append(title)
            if fatal:
                raise CheckFailed(title) from exc
            return False
        suffix = f": {detail}" if detail else ""
        print(f"{OK} {title}{suffix} ({time.monotonic() - began:.1f} s)", flush=True)
        return True


def recreate_database(url: str) -> str:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise CheckFailed(f"unexpected database name {name!r}")
    admin = parsed._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def flush_redis(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    client.flushdb()
    client.close()
    return url


def security_headers(headers: dict[str, str], where: str) -> None:
    lower = headers
    problems = []
    hsts = lower.get("strict-transport-security", "")
    if "max-age=" not in hsts or int(re.search(r"max-age=(\d+)", hsts).group(1)) < 31536000:
        problems.append(f"Strict-Transport-Security {hsts!r}")
    csp = lower.get("content-security-policy", "")
    if "default-src 'self'" not in csp or "frame-ancestors 'none'" not in csp:
        problems.append(f"Content-Security-Policy {csp!r}")
    if lower.get("x-frame-options") != "DENY":
        problems.append(f"X-Frame-Options {lower.get('x-frame-options')!r}")
    if lower.get("x-content-type-options") != "nosniff":
        problems.append(f"X-Content-Type-Options {lower.get('x-content-type-options')!r}")
    if lower.get("referrer-policy") != "same-origin":
        problems.append(f"Referrer-Policy {lower.get('referrer-policy')!r}")
    if problems:
        raise CheckFailed(f"{where}: " + "; ".join(problems))


def next_slot(now: datetime) -> datetime:
    """A 5-minute boundary at least a minute ahead (so the booking is not late by the time it
    is approved), at most six minutes ahead (so the door accepts the scan early)."""
    soon = now + timedelta(minutes=1)
    start = soon.replace(second=0, microsecond=0) + timedelta(minutes=(5 - soon.minute % 5) % 5)
    if start < soon:
        start += timedelta(minutes=5)
    return start


def main() -> int:
    web_port, sim_port = free_port(), free_port()
    logs = Path(tempfile.mkdtemp(prefix="clinic-prodcheck-"))
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY_FILE", "CSRF_TRUSTED_ORIGINS"}}
    env |= {
        "CLINIC_ENV": "production",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SITE_URL": f"https://127.0.0.1:{web_port}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "SWEEP_INTERVAL_SECONDS": "5",
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "PYTHONUNBUFFERED": "1",
    }
    stack = Stack(logs, env)
    report = Report()
    http = Http(web_port)
    print(f"prod-check: web :{web_port}, relay simulator :{sim_port}, logs in {logs}", flush=True)

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    watchdog = threading.Timer(DEADLINE_S, lambda: os.kill(os.getpid(), signal.SIGTERM))
    watchdog.daemon = True
    watchdog.start()
    state: dict[str, Any] = {}
    socket_box: dict[str, Any] = {}
    closing = contextlib.ExitStack()
    try:
        report.step("PostgreSQL database recreated", lambda: recreate_database(DATABASE_URL))
        report.step("Redis database flushed", lambda: flush_redis(REDIS_URL))

        def prepare() -> str:
            static = threading.Thread(target=lambda: state.update(static=_collect(stack)), daemon=True)
            static.start()
            stack.run("migrate", "manage.py", "migrate", "--noinput")
            static.join(timeout=120)
            if state.get("static") is not True:
                raise CheckFailed(f"collectstatic: {state.get('static')}")
            return "migrate and collectstatic"

        report.step("Migrations applied, static files collected", prepare)
        report.step(
            "check --deploy reports no issues",
            lambda: stack.run("check", "manage.py", "check", "--deploy", "--fail-level", "WARNING") or "clean",
        )

        sim_log = logs / "relays.log"

        def start_simulator() -> str:
            stack.start("simulator", "-m", "hardware.simulator", "--port", str(sim_port), "--log", str(sim_log))
            wait_for("relay simulator listening", lambda: _port_open(sim_port), 15)
            return f"127.0.0.1:{sim_port}"

        report.step("Relay simulator started", start_simulator)
        report.step(
            "Demo data seeded",
            lambda: (
                stack.run("seed_demo", "manage.py", "seed_demo", "--relay-port", str(sim_port)) or "3 rooms, 5 logins"
            ),
        )

        def start_services() -> str:
            stack.start(
                "gunicorn",
                "-m",
                "gunicorn",
                "clinic.asgi:application",
                "--worker-class",
                "uvicorn_worker.UvicornWorker",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{web_port}",
                "--graceful-timeout",
                "5",
                "--access-logfile",
                "-",
            )
            stack.start("celery-worker", "-m", "celery", "-A", "clinic", "worker", "-l", "info", "--concurrency", "2")
            stack.start(
                "celery-beat", "-m", "celery", "-A", "clinic", "beat", "-l", "info", "-s", str(logs / "beat-schedule")
            )
            wait_for("gunicorn answering", lambda: http.request("GET", "/healthz", timeout=2)[0] in (200, 503), 40)
            wait_for(
                "celery worker ready", lambda: "ready." in stack.log("celery-worker").read_text(errors="ignore"), 40
            )
            stack.check_alive()
            return "gunicorn (2 uvicorn workers), celery worker, beat"

        report.step("Web server, Celery worker and beat started", start_services)

        def health() -> str:
            status, _, body = http.request("GET", "/healthz")
            answer = json.loads(body)
            if status != 200 or answer != {"db": "ok", "redis": "ok"}:
                raise CheckFailed(f"/healthz {status} {answer}")
            return json.dumps(answer)

        report.step("GET /healthz: db and redis ok", health, fatal=False)

        def headers() -> str:
            status, page_headers, page = http.request("GET", "/")
            if status != 200:
                raise CheckFailed(f"GET / {status}")
            security_headers(page_headers, "GET /")
            status, api_headers, _ = http.request("GET", "/api/faq/")
            if status != 200:
                raise CheckFailed(f"GET /api/faq/ {status}")
            security_headers(api_headers, "GET /api/faq/")
            status, error_headers, _ = http.request("GET", "/api/no-such-thing/")
            security_headers(error_headers, f"GET /api/no-such-thing/ ({status})")
            state["home"] = page.decode(errors="replace")
            return "HSTS, CSP, X-Frame-Options DENY, nosniff, Referrer-Policy on a page, an API answer and a 404"

        report.step("Security headers", headers, fatal=False)

        def ssl_redirect() -> str:
            status, redirect_headers, _ = http.request("GET", "/book/", https=False)
            location = redirect_headers.get("location", "")
            if status != 301 or not location.startswith("https://"):
                raise CheckFailed(f"plain http answered {status} {location!r}")
            return f"301 → {location}"

        report.step("Plain HTTP is redirected to HTTPS", ssl_redirect, fatal=False)

        def static_file() -> str:
            links = re.findall(r'(?:src|href)="(/static/[^"]+)"', state.get("home", ""))
            path = links[0] if links else "/static/admin/css/base.css"
            status, static_headers, content = http.request("GET", path)
            if status != 200 or not content:
                raise CheckFailed(f"GET {path}: {status}")
            if static_headers.get("x-content-type-options") != "nosniff":
                raise CheckFailed(f"GET {path}: no nosniff")
            return f"{path} ({len(content)} bytes, {static_headers.get('cache-control', 'no Cache-Control')})"

        report.step("Static file served by WhiteNoise", static_file, fatal=False)

        def logins() -> str:
            for username, password in SEEDED.items():
                answer = http.json("POST", "/api/auth/token/", {"username": username, "password": password})
                state[username] = answer["token"]
            return ", ".join(SEEDED)

        report.step("Token login as staff, room manager and donor", logins)

        def room_and_opening() -> str:
            now = datetime.now(CLINIC_TZ)
            start = next_slot(now)
            if (start + timedelta(minutes=5)).date() != start.date():
                # A slot ends on its own day: near midnight, book tomorrow's first one, and wait
                # until the door would take it (10 minutes early at most), under two minutes.
                start += timedelta(minutes=5)
                wait = (start - now - timedelta(minutes=9)).total_seconds()
                if wait > 0:
                    time.sleep(wait)
                    now = datetime.now(CLINIC_TZ)
            end = start + timedelta(minutes=5)
            lock = {"host": "127.0.0.1", "port": sim_port, "unit": 1, "coil": COIL, "pulse_ms": PULSE_MS}
            room = http.json(
                "POST", "/api/rooms/", {"name": f"Smoke {now:%H%M%S}", "lock": lock}, state["staff"], expect=201
            )
            opening = {
                "date": start.date().isoformat(),
                "start_time": f"{start:%H:%M}",
                "end_time": f"{end:%H:%M}",
                "slot_minutes": 5,
            }
            http.json("POST", f"/api/rooms/{room['id']}/openings/", opening, state["staff"], expect=201)
            state.update(room=room, start=start)
            return f"room {room['id']} on relay {COIL}, slot {start:%H:%M} (in {(start - now).seconds // 60 + 1} min)"

        report.step("Staff creates a room on the simulator with an opening for the next slot", room_and_opening)

        def open_socket() -> str:
            from websockets.sync.client import connect

            url = f"ws://127.0.0.1:{web_port}/ws/notifications/?token={state['staff']}"
            origin = {"Origin": f"https://127.0.0.1:{web_port}"}
            socket_box["ws"] = closing.enter_context(connect(url, additional_headers=origin, open_timeout=5))
            return "staff connected to /ws/notifications/"

        report.step("WebSocket opened (Origin of an allowed host)", open_socket, fatal=False)

        def book() -> str:
            day = state["start"].date().isoformat()
            slots = http.json("GET", f"/api/slots/?date={day}", token=state["donor"])
            wanted = next(
                (
                    s
                    for s in slots
                    if datetime.fromisoformat(s["start"]) == state["start"]
                    and any(r["id"] == state["room"]["id"] for r in s["free_rooms"])
                ),
                None,
            )
            if wanted is None or not wanted["available"]:
                raise CheckFailed(f"slot {state['start']:%H:%M} not offered: {slots[:3]}")
            booking = http.json(
                "POST", "/api/bookings/", {"room": state["room"]["id"], "start": wanted["start"]}, state["donor"], 201
            )
            if booking["status"] != "pending":
                raise CheckFailed(f"booking {booking}")
            state["booking"] = booking
            return f"booking {booking['id']} pending, {booking['start']}"

        report.step("Donor books the slot", book)

        def pushed() -> str:
            ws = socket_box.get("ws")
            if ws is None:
                raise CheckFailed("no socket")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                if message.get("kind") == "booking.requested" and message.get("booking") == state["booking"]["id"]:
                    return f"{message['kind']}: {message['title']!r} (through the Celery worker and Redis)"
            raise CheckFailed("no booking.requested notification within 15 s")

        report.step("Staff's socket receives the new request live", pushed, fatal=False)

        def approve(who: str, kind: str) -> Callable[[], str]:
            def run() -> str:
                tasks = http.json("GET", "/api/tasks/", token=state[who])
                task = next(
                    (t for t in tasks if t["kind"] == kind and t["booking"]["id"] == state["booking"]["id"]), None
                )
                if task is None:
                    raise CheckFailed(f"no open {kind} task for booking {state['booking']['id']}: {tasks}")
                answer = http.json("POST", f"/api/tasks/{task['id']}/approve/", {}, state[who])
                return f"task {task['id']} approved, booking {answer['booking']['status']}"

            return run

        report.step("Staff approves the donation review", approve("staff", "staff_review"))
        report.step("Room manager approves the room review", approve("roommgr", "room_review"))

        def approved() -> str:
            booking = http.json("GET", f"/api/bookings/{state['booking']['id']}/", token=state["donor"])
            if booking["status"] != "approved":
                raise CheckFailed(f"booking is {booking['status']}")
            return "approved"

        report.step("The booking is approved", approved)

        def scan() -> str:
            sent = time.monotonic()
            answer = http.json("POST", "/api/scan/", {"door": state["room"]["door_token"]}, state["donor"])
            if answer["action"] != "unlocked" or answer["booking"]["status"] != "in_progress":
                raise CheckFailed(f"scan answered {answer}")
            return f"unlocked in {1000 * (time.monotonic() - sent):.0f} ms"

        report.step("Donor scans the door: unlocked", scan)

        def relay_pulsed() -> str:
            def events():
                text = sim_log.read_text(errors="replace") if sim_log.exists() else ""
                return re.findall(rf"relay={COIL} (ON|OFF) (\S+)", text)

            def on_then_off():
                seen = events()
                return "ON" in [s for s, _ in seen] and [s for s, _ in seen][-1] == "OFF" and seen

            seen = wait_for(f"relay {COIL} ON then OFF in the simulator log", on_then_off, 5, 0.1)
            return " → ".join(f"{state_} ({why})" for state_, why in seen)

        report.step(f"Simulator log: relay {COIL} ON then OFF", relay_pulsed)

        def finish() -> str:
            door = state["room"]["door_token"]
            again = http.json("POST", "/api/scan/", {"door": door}, state["donor"])
            if again["action"] != "unlocked" or again["booking"]["status"] != "in_progress":
                raise CheckFailed(f"a repeat scan right after entering answered {again}")
            answer = http.json("POST", "/api/scan/", {"door": door, "action": "finish"}, state["donor"])
            if answer["action"] != "finished" or answer["booking"]["status"] != "completed":
                raise CheckFailed(f"finish answered {answer}")
            return "a repeat scan opened again, finish completed the booking"

        report.step("Donor re-taps (opens again), then finishes: completed", finish, fatal=False)

        def sweep() -> str:
            def swept():
                return "workflows.tasks.sweep" in stack.log("celery-beat").read_text(errors="ignore") and re.search(
                    r"Task workflows\.tasks\.sweep\[[^\]]+\] succeeded",
                    stack.log("celery-worker").read_text("utf-8", "ignore"),
                )

            wait_for("beat sends the sweep and the worker runs it", swept, 20, 0.5)
            return "beat → Redis → worker: sweep succeeded"

        report.step("Beat's periodic sweep runs on the worker", sweep, fatal=False)
        report.step("Every process still running", lambda: stack.check_alive() or "yes", fatal=False)
    except CheckFailed:
        pass
    except KeyboardInterrupt:
        print(f"{FAIL} interrupted (or over {DEADLINE_S} s)", flush=True)
        report.failures.append("interrupted")
    finally:
        watchdog.cancel()
        with contextlib.suppress(Exception):
            closing.close()
        stack.stop()
        print(f"stopped {len(stack.children)} process group(s)", flush=True)
    elapsed = time.monotonic() - report.started
    if report.failures:
        print(
            f"prod-check FAILED ({len(report.failures)}: {', '.join(report.failures)}) in {elapsed:.0f} s; logs: {logs}"
        )
        return 1
    print(f"prod-check passed in {elapsed:.0f} s")
    return 0


def _collect(stack: Stack) -> bool | str:
    try:
        stack.run("collectstatic", "manage.py", "collectstatic", "--noinput", timeout=120)
    except Exception as exc:
        return str(exc)
    return True


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


if __name__ == "__main__":
    sys.exit(main())
