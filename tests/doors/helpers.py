"""Helpers for the door tests: approved bookings for "now", a live uvicorn process, HTTP calls over real TCP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from django.db import connection
from django.utils import timezone

from clinic.bookings.models import Booking
from tests import factories as f
from tests.workflows.helpers import task_id
from workflows import reviews
from workflows.flows import BookingFlow

ROOT = Path(__file__).resolve().parents[2]
SLOT_MINUTES = 5


def open_all_day(room) -> None:
    """5-minute slots all day (00:00-23:55), every weekday: a slot always starts within 5 minutes."""
    f.weekly_opening(room, start="00:00", end="23:55", slot_minutes=SLOT_MINUTES)


def current_slot(now: datetime | None = None) -> datetime:
    """The start of the slot of an all-day opening (see open_all_day) in which a scan now is on time,
    and after which the next slot is offered too: the running one, or in the last 10 minutes of the
    day tomorrow's first (within EARLY_CHECK_IN_MINUTES; the day's last slot, 23:50, has no next)."""
    now = timezone.localtime(now)
    start = now.replace(minute=now.minute - now.minute % SLOT_MINUTES, second=0, microsecond=0)
    if start.hour == 23 and start.minute >= 50:
        start = timezone.localtime(start.replace(minute=0) + timedelta(hours=1))
    return start


def approved_booking(people, room, start, donor=None) -> Booking:
    """A booking reviewed and approved by staff (sam) and room manager (rita), moved to `start`."""
    donor = donor or people.alice
    booking = f.booking(donor, room, start + timedelta(days=1))
    BookingFlow.start.run(booking=booking)
    reviews.complete_review(task_id=task_id(booking, "staff_review"), user=people.sam, decision="approved")
    reviews.complete_review(task_id=task_id(booking, "room_review"), user=people.rita, decision="approved")
    # Booked yesterday for today's slot.
    Booking.objects.filter(pk=booking.pk).update(start=start, end=start + timedelta(minutes=SLOT_MINUTES))
    booking.refresh_from_db()
    assert booking.status == "approved"
    return booking


def child_database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test database), for child processes."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{quote(db['USER'], safe='')}{password}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def django_env(**extra: str) -> dict[str, str]:
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DATABASE_URL": child_database_url(),
        "DEBUG": "1",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, body: dict | None = None, token: str | None = None, timeout: float = 10):
    """(status, json body) of one request over real HTTP."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


class WebProcess:
    """`uvicorn clinic.asgi:application` in its own process group, on the test database."""

    def __init__(self, log_path: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "clinic.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=django_env(**env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready(timeout=30)

    def _wait_ready(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"uvicorn exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            try:
                status, _ = http("GET", self.url + "/api/me/", timeout=1)
            except OSError:
                time.sleep(0.05)
                continue
            assert status == 401, status
            return
        raise AssertionError(f"uvicorn not answering after {timeout}s:\n{self.log_path.read_text()}")

    def kill(self) -> None:
        """SIGKILL the whole process group (uvicorn and anything it started) and reap it."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def group_alive(self) -> bool:
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
