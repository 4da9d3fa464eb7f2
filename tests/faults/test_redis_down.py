"""Redis (broker and channel layer) down for a while under load, on a live stack (private
redis-server, real Celery worker, live uvicorn): bookings and approvals keep working (201/200,
each answered in under 1.5 s), nothing is lost, and once Redis is back the sweep, run by the real
worker, delivers every notification left undelivered: each pushed at most once (those pushed just
as Redis died are the only ones a listener may miss), each SMS sent exactly once.

Redis stays down FAULTS_REDIS_DOWNTIME_S seconds (10 here; `make soak` runs the long version,
30 s under load for minutes: bench/soak.py)."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from clinic.accounts.models import AccessToken as Token
from clinic.bookings.models import Booking
from clinic.celery import app
from clinic.notifications import services
from clinic.notifications.models import Notification
from clinic.notifications.texts import TEXTS
from tests import factories as f
from tests.faults.sms import sent
from tests.faults.support import GroupListener, wait_until
from tests.realtime.support import (
    Http,
    celery_broker,
    celery_worker,
    channel_layers,
    free_port,
    service_env,
    uvicorn_server,
    worker_db_url,
)

pytestmark = [pytest.mark.celery, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

DOWNTIME_S = float(os.environ.get("FAULTS_REDIS_DOWNTIME_S", "10"))
BEFORE_S, AFTER_S = 2.0, 3.0
BOOKERS = 2
BOOKING_EVERY_S = 0.4
SLOW_S = 1.5


def token(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


class Load:
    """Donors booking from BOOKERS threads, a staff member and a room manager approving every
    task they see; every answer recorded as (what, status, seconds, when)."""

    def __init__(self, base: str, donors: list, rooms: list, sam, rita) -> None:
        self.base, self.donors, self.rooms = base, donors, rooms
        self.reviewers = [Http(base, token(sam)), Http(base, token(rita))]
        self.tokens = [token(d) for d in donors]
        self.answers: list[tuple[str, int, float, float]] = []
        self.stop_booking = threading.Event()
        self.stop_reviewing = threading.Event()
        self.threads: list[threading.Thread] = []

    def slot(self, i: int) -> dict:
        per_day = 24 * len(self.rooms)
        day = f.tomorrow() + timedelta(days=i // per_day)
        k = i % per_day
        start = f.at(day, "08:00") + timedelta(minutes=30 * (k // len(self.rooms)))
        return {"room": self.rooms[k % len(self.rooms)].pk, "start": start.isoformat()}

    def book(self, first: int) -> None:
        for i in range(first, len(self.donors), BOOKERS):
            if self.stop_booking.is_set():
                return
            began = time.monotonic()
            status, body, took = Http(self.base, self.tokens[i]).post("/api/bookings/", self.slot(i))
            self.answers.append(("book", status, took, time.time()))
            assert status == 201, body
            time.sleep(max(0.0, BOOKING_EVERY_S - (time.monotonic() - began)))

    def review(self, reviewer: Http) -> None:
        while True:
            status, tasks, took = reviewer.get("/api/tasks/")
            self.answers.append(("tasks", status, took, time.time()))
            for task in tasks:
                status, _, took = reviewer.post(f"/api/tasks/{task['id']}/approve/")
                self.answers.append(("approve", status, took, time.time()))
            if not tasks:
                if self.stop_reviewing.is_set():
                    return
                time.sleep(0.2)

    def start(self) -> None:
        self.threads = [threading.Thread(target=self.book, args=(k,)) for k in range(BOOKERS)]
        self.threads += [threading.Thread(target=self.review, args=(r,)) for r in self.reviewers]
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop_booking.set()
        for thread in self.threads[:BOOKERS]:
            thread.join(30)
        self.stop_reviewing.set()  # reviewers stop once their lists are empty
        for thread in self.threads[BOOKERS:]:
            thread.join(60)


def test_redis_down_under_load_loses_nothing_and_the_sweep_delivers_once(committed, private_redis, tmp_path, settings):
    sms_log = tmp_path / "sms.log"
    env = service_env(worker_db_url(), private_redis.url) | {
        "SMS_BACKEND": "tests.faults.sms.RecordingSms",
        "FAULT_SMS_LOG": str(sms_log),
    }
    settings.CHANNEL_LAYERS = channel_layers(private_redis.url)
    rooms = [f.room(f"Room {n}", coil=n) for n in range(4)]
    for room in rooms:
        f.weekly_opening(room)
    donors = [f.client_user(f"donor{i}") for i in range(int((BEFORE_S + DOWNTIME_S + AFTER_S) / BOOKING_EVERY_S) * 2)]
    sam, rita = f.staff_user("sam", role="staff"), f.staff_user("rita", role="room_manager")
    groups = [services.group_name(user.pk) for user in [sam, rita, *donors]]

    port = free_port()
    worker = server = None
    with celery_broker(private_redis.url), GroupListener(private_redis.url, groups) as listener:
        try:
            worker = celery_worker(tmp_path, env)
            server = uvicorn_server(tmp_path, env, port)
            load = Load(f"http://127.0.0.1:{port}", donors, rooms, sam, rita)
            load.start()
            time.sleep(BEFORE_S)
            private_redis.stop()
            down_at = time.time()
            time.sleep(DOWNTIME_S)
            private_redis.start()
            up_at = time.time()
            time.sleep(AFTER_S)
            load.finish()

            answers = load.answers
            assert {(what, status) for what, status, _, _ in answers} <= {
                ("book", 201),
                ("tasks", 200),
                ("approve", 200),
            }, Counter((what, status) for what, status, _, _ in answers)
            slow = [(what, round(took, 2)) for what, _, took, _ in answers if took >= SLOW_S]
            assert not slow, f"answers slower than {SLOW_S} s: {slow}"
            during = [a for a in answers if down_at <= a[3] <= up_at]
            assert sum(what == "book" for what, *_ in during) >= DOWNTIME_S / BOOKING_EVERY_S
            assert sum(what == "approve" for what, *_ in during) >= DOWNTIME_S / BOOKING_EVERY_S
            bookings = Booking.objects.all()
            assert bookings.count() == sum(what == "book" for what, *_ in answers)
            assert set(bookings.values_list("status", flat=True)) == {"approved"}
            left = Notification.objects.filter(delivered_at__isnull=True).count()
            assert left, "nothing was left undelivered: Redis was not really down"

            # Beat would send the sweep every SWEEP_INTERVAL_SECONDS; here it is sent by name until
            # everything is delivered (the first may run before the worker's channel layer is back).
            wait_until(lambda: listener.joins >= 2, 10, "the listener did not join its groups again")
            sweeps = 0

            def all_delivered() -> bool:
                nonlocal sweeps
                if Notification.objects.filter(delivered_at__isnull=True).exists():
                    if sweeps == 0 or time.monotonic() - last_sweep[0] > 3:
                        app.send_task("workflows.tasks.sweep")
                        sweeps += 1
                        last_sweep[0] = time.monotonic()
                    return False
                return True

            last_sweep = [0.0]
            swept_at = time.monotonic()
            wait_until(all_delivered, 40, lambda: f"still undelivered after sweeps\n{worker.log()[-3000:]}")
            drained_in = time.monotonic() - swept_at
            time.sleep(1.0)  # room for anything pushed or sent twice to show

            rows = Notification.objects.all()
            pushed = Counter(listener.ids())
            assert max(pushed.values()) == 1, [pk for pk, n in pushed.items() if n > 1]
            missed = rows.exclude(pk__in=list(pushed))
            # At most once: a push handed to Redis just before it died is gone with it.
            in_flight = (datetime.fromtimestamp(down_at - 2, tz=UTC), datetime.fromtimestamp(down_at + 1, tz=UTC))
            assert not missed.exclude(delivered_at__range=in_flight).exists(), list(missed.values("pk", "delivered_at"))
            assert missed.count() <= 5, missed.count()
            outward = sorted(
                rows.filter(kind__in=[k for k, t in TEXTS.items() if t.outward]).values_list("pk", flat=True)
            )
            assert sorted(sent(sms_log)) == outward, "SMS not sent exactly once per outward notification"
            assert len(outward) == bookings.count()  # one booking.approved each
            server_log = server.log()
            assert "Traceback" not in server_log, server_log[-3000:]
            print(
                f"Redis down {DOWNTIME_S:.0f} s: {len(answers)} answers, {len(during)} during the outage, "
                f"max {max(took for _, _, took, _ in answers):.2f} s; {bookings.count()} bookings approved; "
                f"{left} of {rows.count()} notifications left for the sweep, all delivered in {drained_in:.1f} s "
                f"({sweeps} sweep(s)); pushes missed (in flight as Redis died): {missed.count()}; "
                f"SMS {len(outward)}, each once"
            )
        finally:
            for process in (server, worker):
                if process is not None:
                    process.stop()
