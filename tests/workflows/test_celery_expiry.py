"""The expiry timeout end to end: a real Celery worker (and a real beat) on a real Redis broker
expires an overdue booking through its process, once.

The worker is a separate OS process, so it must share the test database: PostgreSQL only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.db import connection
from django.utils import timezone

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from clinic.notifications.models import Notification
from tests import factories as f
from tests.workflows.helpers import assert_finished, hold_deliveries, open_tasks
from workflows import bookings

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
BROKER_DB = 14  # private to this test: flushed at the start
DEADLINE = 30.0


@pytest.fixture(autouse=True)
def _default_roles(db):
    f.restore_roles()  # an earlier transactional test flushed them away


@pytest.fixture(autouse=True)
def _held(monkeypatch):
    # This process would publish on the shared broker (db 0); its rows wait for the worker's sweep.
    hold_deliveries(monkeypatch)


@pytest.fixture
def broker_url(redis_url) -> str:
    import redis

    parsed = urlparse(redis_url)
    url = parsed._replace(path=f"/{BROKER_DB}").geturl()
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    client.flushdb()
    client.close()
    return url


@pytest.fixture
def worker_db_url() -> str:
    """The URL of the database pytest-django created (test_<name>), for the worker."""
    if connection.vendor != "postgresql":
        pytest.skip("the Celery worker is another OS process and needs a shared server database (PostgreSQL)")
    url = urlparse(os.environ["DATABASE_URL"])
    return url._replace(path="/" + connection.settings_dict["NAME"]).geturl()


class Celery:
    """Celery subprocesses (worker, beat), logging to files, stopped by their own ids."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.procs: dict[str, tuple[subprocess.Popen, Path]] = {}

    def start(self, name: str, *args: str) -> None:
        log = self.tmp_path / f"{name}.log"
        cmd = [sys.executable, "-m", "celery", "-A", "clinic", *args]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs[name] = (proc, log)

    def log(self, name: str) -> str:
        return self.procs[name][1].read_text(errors="replace")

    def logs(self) -> str:
        return "\n".join(f"--- {name} ---\n{self.log(name)[-4000:]}" for name in self.procs)

    def check_alive(self) -> None:
        for name, (proc, _) in self.procs.items():
            assert proc.poll() is None, f"celery {name} exited with {proc.returncode}\n{self.logs()}"

    def stop(self) -> None:
        for proc, _ in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, _ in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


@pytest.fixture
def celery_procs(tmp_path, broker_url, worker_db_url):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DATABASE_URL": worker_db_url,
        "CELERY_BROKER_URL": broker_url,
        "REDIS_URL": broker_url,
        "DEBUG": "1",
        "SWEEP_INTERVAL_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    procs = Celery(tmp_path, env)
    try:
        yield procs
    finally:
        procs.stop()


@pytest.fixture
def room(db):
    room = f.room("Room A")
    f.weekly_opening(room)
    return room


def overdue_booking(donor, room, hhmm: str) -> Booking:
    """Booked through the flow for a future slot, then its slot (and the review timers armed
    for its start) moved to have begun a minute ago."""
    booking = bookings.request_booking(actor=donor, donor=donor, room_id=room.pk, start=f.at(f.tomorrow(), hhmm))
    began = timezone.now() - timedelta(minutes=1)
    Booking.objects.filter(pk=booking.pk).update(start=began, end=began + timedelta(minutes=30))
    assert open_tasks(booking, timers=True).filter(flow_task_type="TIMER").update(scheduled=began) == 2
    return booking


def wait_until_expired(booking: Booking, procs: Celery) -> float:
    began = time.monotonic()
    while time.monotonic() - began < DEADLINE:
        procs.check_alive()
        booking.refresh_from_db()
        if booking.status == "expired":
            return time.monotonic() - began
        time.sleep(0.2)
    pytest.fail(f"booking {booking.pk} still {booking.status} after {DEADLINE:.0f} s\n{procs.logs()}")


def sweeps_run(procs: Celery) -> int:
    return procs.log("worker").count("Task workflows.tasks.sweep[") // 2  # "received" and "succeeded"


def assert_expired_once(booking: Booking) -> None:
    booking.refresh_from_db()
    assert (booking.status, booking.staff_review, booking.room_review) == ("expired", "cancelled", "cancelled")
    assert_finished(booking)
    events = AuditEvent.objects.filter(action="booking.expired", object_id=str(booking.pk))
    assert events.count() == 1
    assert events.get().actor is None
    kinds = Notification.objects.filter(booking=booking, recipient=booking.donor).values_list("kind", flat=True)
    assert list(kinds) == ["booking.expired"]


def test_a_real_worker_expires_an_overdue_booking_sent_by_name_and_by_beat(people, room, celery_procs, broker_url):
    from clinic.celery import app

    first = overdue_booking(people.alice, room, "09:00")
    celery_procs.start(
        "worker", "worker", "--pool", "solo", "-l", "info", "-n", f"expiry-test-{os.getpid()}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    )  # fmt: skip

    # 1. The sweep sent by name through the app, as beat would send it, on the test's broker.
    with app.connection_for_write(broker_url) as conn:
        app.send_task("workflows.tasks.sweep", connection=conn)
    took = wait_until_expired(first, celery_procs)
    assert_expired_once(first)
    print(f"sent sweep: expired after {took:.1f} s")

    # 2. A real beat, sweeping every second: a second overdue booking is expired once, and
    #    further sweeps change nothing.
    second = overdue_booking(people.bob, room, "10:00")
    celery_procs.start("beat", "beat", "-l", "info", "-s", str(celery_procs.tmp_path / "beat-schedule"))
    took = wait_until_expired(second, celery_procs)
    print(f"beat sweep: expired after {took:.1f} s")
    swept = sweeps_run(celery_procs)
    began = time.monotonic()
    while sweeps_run(celery_procs) < swept + 2 and time.monotonic() - began < DEADLINE:
        celery_procs.check_alive()
        time.sleep(0.2)
    assert sweeps_run(celery_procs) >= swept + 2, celery_procs.logs()
    assert "Sending due task sweep (workflows.tasks.sweep)" in celery_procs.log("beat")
    for booking in (first, second):
        assert_expired_once(booking)
    assert "Traceback" not in celery_procs.log("worker"), celery_procs.logs()
