"""The whole platform under load: donors browsing and booking, reviewers approving, door scans.

Real processes throughout, as in production on one machine: gunicorn with 2 uvicorn workers
(clinic.asgi), a Celery worker (prefork, 2 processes), a private redis-server (broker and channel
layer), relay simulators (`python -m hardware.simulator`, 8 relays each) and PostgreSQL (database
clinic_load, dropped, recreated and migrated on every run).

Traffic, for --seconds (default 60), from a pool of client threads with keep-alive connections:
- --donors (200) simulated donors, each in a loop with think times (mean --think s): browse a day's
  slots (GET /api/slots/?date=, a day in the next four), book one of the first free room/slots
  (POST /api/bookings/; a 409 sends him browsing again), follow the booking
  (GET /api/bookings/{id}/) until both reviews are done, then cancel it (POST .../cancel/) and
  start over: a steady stream of new bookings. Each donor's first step, too, comes after a think
  time, so requests arrive at the same rate from the first second (the mix settles within about
  20 s: every donor starts by browsing).
- --reviewers (2) staff and as many room managers: GET /api/tasks/, approve each of their share
  (POST /api/tasks/{id}/approve/) one after the other, look again after a second when empty.
- --scan-rate (20) door scans per second on a fixed schedule (open loop): half are first scans of
  approved bookings whose slot is running (the door opens: a relay pulse on a simulator), the
  other half the second scans, --session s later, that end those sessions. The bookings are made
  and approved through the booking process before the clock starts, in consecutive 1-minute
  slots of 40 rooms (the check-in window of the servers is widened for that, as bench/scan.py
  does).

First, on the idle platform, each endpoint alone (PROBE_N requests one at a time): its latency
and the web CPU it costs, i.e. where a request's time goes before any queueing. Then the run:
requests per second, p50/p95/p99 per endpoint and by 10 s of the run (with the CPU the web, the
worker and the whole machine used in those 10 s), answers by status (5xx must be none),
overlapping active bookings per room (must be none), bookings without their process,
notifications delivered, doors opened against relay pulses seen by the simulators, and the CPU
used by each process group, the load generator included. Targets: no 5xx, no overlap,
p95 <= 300 ms. Asserts nothing.

Run: .venv/bin/python bench/load.py [--seconds 60] [--donors 200] [--scan-rate 20]
DATABASE_URL names the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/clinic_load);
a database name other than clinic_load* (e.g. the test database `make bench` passes) is replaced
by clinic_load on the same server. Loopback only.
"""

from __future__ import annotations

import argparse
import heapq
import http.client
import itertools
import json
import math
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a plain script from anywhere

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/clinic_load"
BOOKING_ROOMS = 20
SCAN_ROOMS = 40
RELAYS_PER_BOARD = 8
PULSE_MS = 3000  # the rooms' default; a coil is pulsed again only after SCAN_ROOMS / (scan rate / 2) s
ARM_PROCESSES = 2
PROBE_N = 15
CHECK_IN_WINDOW_MINUTES = 240
TARGET_P95_MS = 300.0
BROWSE_DAYS = 4
TOP_CHOICES = 8


def bench_database_url() -> str:
    url = urlparse(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    if url.scheme not in {"postgres", "postgresql"}:
        sys.exit(f"bench/load.py needs PostgreSQL (DATABASE_URL={urlunparse(url)})")
    if not url.path.lstrip("/").startswith("clinic_load"):
        url = url._replace(path="/clinic_load")
    return urlunparse(url._replace(query=""))


DATABASE_URL = bench_database_url()
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["DJANGO_SETTINGS_MODULE"] = "clinic.settings"
os.environ.setdefault("LOG_LEVEL", "WARNING")
# This process never publishes (its notifications are marked delivered); keep it off any Redis.
os.environ["CELERY_BROKER_URL"] = "redis://127.0.0.1:1/0"


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    with psycopg.connect(urlunparse(parsed._replace(path="/postgres")), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# --- configuration and results -------------------------------------------------------------


@dataclass
class Config:
    seconds: float = 60.0
    donors: int = 200
    reviewers: int = 2
    scan_rate: float = 20.0
    session_s: float = 1.5
    think_s: float = 10.0
    threads: int = 64
    web_workers: int = 2
    # For bench/soak.py: Redis stopped at `outage_at` s for `outage_s` s, a beat sending the sweep.
    outage_at: float | None = None
    outage_s: float = 0.0
    beat: bool = False
    sweep_interval_s: int = 10
    record_sms: bool = False
    drain_s: float = 30.0
    # For bench/soak_prod.py: sockets of this many donors held open (idle but for their own
    # pushes) through the run, and each process's memory sampled every `rss_every_s` seconds.
    idle_sockets: int = 0
    rss_every_s: float = 0.0

    @property
    def scan_bookings(self) -> int:
        return math.ceil(self.seconds * self.scan_rate / 2)


@dataclass
class Sample:
    endpoint: str
    status: int
    code: str
    latency: float
    lag: float  # sent this long after it was due (the client pool was behind)
    at: float  # send time, seconds since the start of the measured run


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


# --- HTTP -----------------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection per client thread; requests carry the caller's token."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None
        self.used = False

    def call(self, method: str, path: str, token: str | None, body: Any = None) -> tuple[int, Any]:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.used = False
            reused = self.used
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                self.used = True
                break
            except (OSError, http.client.HTTPException) as exc:
                self.conn.close()
                self.conn = None
                # Only a keep-alive connection the server had closed while idle is retried (the
                # request never reached it); anything else is reported.
                idle_closed = isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError))
                if attempt == 2 or not (reused and idle_closed):
                    raise
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = None
        return response.status, parsed

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


# --- the simulated people -------------------------------------------------------------------


class Actor:
    """One step at a time: `step` makes one request and returns when the next step is due
    (monotonic seconds), or None when the actor is done."""

    def step(self, run: Run, http: Connection, due: float) -> float | None:
        raise NotImplementedError


def think_time(rng: random.Random, mean_s: float) -> float:
    """A donor's pause before his next step: exponential around `mean_s`, within [0.5 s, 4 times the mean]."""
    return min(max(rng.expovariate(1 / mean_s), 0.5), 4 * mean_s)


class Donor(Actor):
    def __init__(self, token: str, rng: random.Random) -> None:
        self.token, self.rng = token, rng
        self.state = "browse"
        self.choice: tuple[str, int] | None = None
        self.booking: int | None = None

    def think(self, run: Run) -> float:
        return time.monotonic() + think_time(self.rng, run.config.think_s)

    def step(self, run: Run, http: Connection, due: float) -> float | None:
        if self.state == "browse":
            day = run.today + timedelta(days=self.rng.randint(1, BROWSE_DAYS))
            status, body = run.call(http, "GET /api/slots/", "GET", f"/api/slots/?date={day:%Y-%m-%d}", None, due)
            free = []
            if status == 200:
                free = [(s["start"], r["id"]) for s in body if s["available"] for r in s["free_rooms"]]
            if free:
                self.choice = self.rng.choice(free[:TOP_CHOICES])
                self.state = "book"
        elif self.state == "book":
            assert self.choice is not None
            start, room = self.choice
            status, body = run.call(
                http, "POST /api/bookings/", "POST", "/api/bookings/", self.token, due, {"room": room, "start": start}
            )
            if status == 201:
                self.booking, self.state = body["id"], "follow"
            else:
                self.state = "browse"
        elif self.state == "follow":
            status, body = run.call(
                http, "GET /api/bookings/{id}/", "GET", f"/api/bookings/{self.booking}/", self.token, due
            )
            if status == 200 and body["status"] == "approved":
                self.state = "cancel"
            elif status != 200 or body["status"] != "pending":
                self.state = "browse"
        elif self.state == "cancel":
            run.call(
                http,
                "POST /api/bookings/{id}/cancel/",
                "POST",
                f"/api/bookings/{self.booking}/cancel/",
                self.token,
                due,
                {"reason": "plans changed"},
            )
            self.state = "browse"
        return self.think(run)


class Reviewer(Actor):
    """A staff member or room manager working through his share of the inbox."""

    def __init__(self, token: str, index: int, of: int) -> None:
        self.token, self.index, self.of = token, index, of
        self.queue: list[int] = []

    def step(self, run: Run, http: Connection, due: float) -> float | None:
        if not self.queue:
            status, body = run.call(http, "GET /api/tasks/", "GET", "/api/tasks/", self.token, due)
            if status == 200:
                self.queue = [t["id"] for t in body if t["id"] % self.of == self.index]
            return time.monotonic() + (0.05 if self.queue else 1.0)
        task = self.queue.pop(0)
        run.call(http, "POST /api/tasks/{id}/approve/", "POST", f"/api/tasks/{task}/approve/", self.token, due, {})
        return time.monotonic() + 0.05


class Scan(Actor):
    """One door scan; a first scan that opened the door schedules the second one."""

    def __init__(self, token: str, door: str, first: bool) -> None:
        self.token, self.door, self.first = token, door, first

    def step(self, run: Run, http: Connection, due: float) -> float | None:
        name = "POST /api/scan/ (enter)" if self.first else "POST /api/scan/ (leave)"
        # Leaving is the door page's confirmed Finish: a plain scan within DOOR_REPEAT_SECONDS
        # of the check-in would open the door again instead.
        body_sent = {"door": self.door} if self.first else {"door": self.door, "action": "finish"}
        status, body = run.call(http, name, "POST", "/api/scan/", self.token, due, body_sent)
        if self.first and status == 200 and body.get("action") == "unlocked":
            run.schedule(time.monotonic() + run.config.session_s, Scan(self.token, self.door, first=False))
            with run.cond:
                run.unlocked += 1
        return None


# --- the run: a schedule of actors served by a pool of client threads ---------------------------


class Run:
    def __init__(self, config: Config, port: int, today) -> None:
        self.config, self.port, self.today = config, port, today
        self.results = Results()
        self.heap: list[tuple[float, int, Actor]] = []
        self.cond = threading.Condition()
        self.seq = itertools.count()
        self.started = 0.0
        self.deadline = 0.0
        self.stopping = False
        self.unlocked = 0
        self.busy = 0

    def schedule(self, when: float, actor: Actor) -> None:
        with self.cond:
            if not self.stopping and when < self.deadline:
                heapq.heappush(self.heap, (when, next(self.seq), actor))
                self.cond.notify()

    def call(
        self, http: Connection, endpoint: str, method: str, path: str, token: str | None, due: float, body: Any = None
    ) -> tuple[int, Any]:
        sent = time.monotonic()
        try:
            status, answer = http.call(method, path, token, body)
        except (OSError, http.client.HTTPException) as exc:
            status, answer = 0, {"code": type(exc).__name__}
        took = time.monotonic() - sent
        code = answer.get("code", "") if isinstance(answer, dict) and status >= 400 else ""
        self.results.add(Sample(endpoint, status, code, took, max(0.0, sent - due), sent - self.started))
        return status, answer

    def worker(self) -> None:
        http = Connection(self.port)
        try:
            while True:
                with self.cond:
                    while True:
                        if self.stopping:
                            return
                        now = time.monotonic()
                        if self.heap and self.heap[0][0] <= now:
                            due, _, actor = heapq.heappop(self.heap)
                            self.busy += 1
                            break
                        self.cond.wait(timeout=(self.heap[0][0] - now) if self.heap else 0.1)
                try:
                    following = actor.step(self, http, due)
                finally:
                    with self.cond:
                        self.busy -= 1
                if following is not None:
                    self.schedule(following, actor)
        finally:
            http.close()

    def go(self, actors: list[tuple[float, Actor]], on_tick: Callable[[float], None] | None = None) -> float:
        """Run for config.seconds; returns the wall time until the last answer."""
        self.started = time.monotonic()
        self.deadline = self.started + self.config.seconds
        for offset, actor in actors:
            self.schedule(self.started + offset, actor)
        threads = [threading.Thread(target=self.worker, daemon=True) for _ in range(self.config.threads)]
        for thread in threads:
            thread.start()
        while (now := time.monotonic()) < self.deadline:
            if on_tick is not None:
                on_tick(now - self.started)
            time.sleep(0.1)
        with self.cond:  # the traffic ends: what is in flight finishes, nothing new is sent
            self.stopping = True
            self.heap.clear()
            self.cond.notify_all()
        for thread in threads:
            thread.join(timeout=60)
        return time.monotonic() - self.started


# --- the world ------------------------------------------------------------------------------------


@dataclass
class World:
    donor_tokens: list[str]
    reviewer_tokens: dict[str, list[str]]
    scans: list[tuple[str, str]]  # (donor token, door token), in scan order
    arm_seconds: float
    booking_rooms: list[int]
    probe_tokens: list[str]  # donors of the service-time probe
    probe_scans: list[tuple[str, str]]


def make_users(prefix: str, count: int, group: str, *, client: bool) -> list[Any]:
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from clinic.accounts.models import DonorProfile, User

    password = make_password(None)
    users = User.objects.bulk_create(
        [
            User(username=f"{prefix}{i:04d}", password=password, phone=f"138{i:08d}", is_staff=not client)
            for i in range(count)
        ]
    )
    role = Group.objects.get(name=group)
    User.groups.through.objects.bulk_create([User.groups.through(user_id=u.pk, group_id=role.pk) for u in users])
    if client:
        DonorProfile.objects.bulk_create([DonorProfile(user=u, real_name=f"{prefix} {i}") for i, u in enumerate(users)])
    return users


def tokens_for(users: list[Any]) -> list[str]:
    from clinic.accounts.models import AccessToken as Token

    rows = Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users])
    return [row.key for row in rows]


def make_world(config: Config, boards: list[int]) -> World:
    """Users, rooms and openings; the scan bookings made and approved through the booking process
    (their notifications marked delivered: they are setup, not load)."""
    from django.utils import timezone

    from clinic.notifications.models import Notification
    from clinic.rooms.models import Opening, RelayModule, Room

    def hhmm(text: str):
        return datetime.strptime(text, "%H:%M").time()

    booking_rooms = []
    for i in range(BOOKING_ROOMS):
        room = Room.objects.create(name=f"Room {i + 1:02d}")
        Opening.objects.create(
            room=room, weekdays=list(range(7)), start_time=hhmm("08:00"), end_time=hhmm("20:00"), slot_minutes=30
        )
        booking_rooms.append(room.pk)
    donors = make_users("donor", config.donors, "donor", client=True)
    staff = make_users("staff", config.reviewers, "staff", client=False)
    managers = make_users("rooms", config.reviewers, "room_manager", client=False)
    probers = make_users("probe", PROBE_N + 1, "donor", client=True)
    scanners = make_users("visitor", PROBE_N + config.scan_bookings, "donor", client=True)

    # Scan rooms: consecutive 1-minute slots, as many per room as needed, all over before the run
    # starts (their check-in windows, widened for the run, still open): a slot running during the
    # run would hold its room for its donor, and a donor never goes in ahead of one whose slot
    # comes first and is not over (clinic.bookings.occupancy), so the run's scans would be refused.
    modules = [RelayModule.objects.create(host="127.0.0.1", port=port, unit=1) for port in boards]
    scan_rooms = [
        Room.objects.create(
            name=f"Door {i + 1:02d}", relay=modules[i // RELAYS_PER_BOARD], coil=i % 8, pulse_ms=PULSE_MS
        )
        for i in range(SCAN_ROOMS)
    ]
    per_room = math.ceil(len(scanners) / SCAN_ROOMS)
    now = timezone.localtime()
    first = now.replace(second=0, microsecond=0) - timedelta(minutes=per_room + 2)
    starts: list[datetime] = []
    t = first
    while len(starts) < per_room:
        if f"{t:%H:%M}" != "23:59":  # a slot must end on its own day
            starts.append(t)
        t = timezone.localtime(t + timedelta(minutes=1))
    by_day: dict[Any, list[datetime]] = defaultdict(list)
    for start in starts:
        by_day[start.date()].append(start)
    for room in scan_rooms:
        for day, day_starts in by_day.items():
            Opening.objects.create(
                room=room,
                date=day,
                start_time=day_starts[0].time(),
                end_time=(day_starts[-1] + timedelta(minutes=1)).time(),
                slot_minutes=1,
            )

    scanner_tokens = tokens_for(scanners)
    plan = [(donor.pk, scan_rooms[n % SCAN_ROOMS].pk, starts[n // SCAN_ROOMS]) for n, donor in enumerate(scanners)]
    doors = {room.pk: room.door_token for room in scan_rooms}
    began = time.monotonic()
    arm_all(plan, staff[0].pk, managers[0].pk)
    Notification.objects.update(delivered_at=timezone.now())
    scans = [(key, doors[room]) for key, (_, room, _) in zip(scanner_tokens, plan, strict=True)]
    return World(
        donor_tokens=tokens_for(donors),
        reviewer_tokens={"staff": tokens_for(staff), "room_manager": tokens_for(managers)},
        scans=scans[PROBE_N:],
        arm_seconds=time.monotonic() - began,
        booking_rooms=booking_rooms,
        probe_tokens=tokens_for(probers),
        probe_scans=scans[:PROBE_N],
    )


def arm(plan: list[tuple[int, int, datetime]], staff_id: int, manager_id: int) -> int:
    """Book each (donor, room, start) and approve both reviews, through the booking process."""
    from django.db import connections, transaction
    from viewflow.workflow.models import Task
    from viewflow.workflow.status import STATUS

    from clinic.accounts.models import User
    from clinic.bookings.models import Booking
    from clinic.notifications import services
    from workflows import flows, reviews
    from workflows.flows import BookingFlow

    # Setup, not load: the bookings' notifications are neither written nor published.
    services.enqueue = lambda ids, rooms=None: None
    flows.notify = flows.notify_holders_each = reviews.notify = lambda *a, **k: []
    staff, manager = User.objects.get(pk=staff_id), User.objects.get(pk=manager_id)
    for donor_id, room_id, start in plan:
        with transaction.atomic():
            booking = Booking.objects.create(
                donor_id=donor_id, room_id=room_id, start=start, end=start + timedelta(minutes=1)
            )
            BookingFlow.start.run(booking=booking)
        for name, reviewer in (("staff_review", staff), ("room_review", manager)):
            task = Task.objects.get(
                process__bookingprocess__booking=booking, flow_task=getattr(BookingFlow, name), status=STATUS.NEW
            )
            reviews.complete_review(task_id=task.pk, user=reviewer, decision="approved")
    connections.close_all()
    return len(plan)


def arm_all(plan: list[tuple[int, int, datetime]], staff_id: int, manager_id: int) -> None:
    """arm() in ARM_PROCESSES forked processes (the database connection and its pool are closed
    before forking: a child must never share the parent's sockets)."""
    import multiprocessing

    from django.db import connection, connections

    connections.close_all()
    if connection.settings_dict["OPTIONS"].get("pool"):
        connection.close_pool()
    slices = [plan[k::ARM_PROCESSES] for k in range(ARM_PROCESSES)]
    with multiprocessing.get_context("fork").Pool(ARM_PROCESSES) as pool:
        done = pool.starmap(arm, [(part, staff_id, manager_id) for part in slices])
    assert sum(done) == len(plan)


# --- processes -----------------------------------------------------------------------------------


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime, stime, and what reaped children used (a prefork pool's replaced processes)
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def family(pid: int) -> list[int]:
    """pid and its descendants."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children[ppid].append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of pid and its descendants (MiB)."""
    total = 0
    for member in family(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class HeldSockets:
    """Donors' sockets held open through the run (token, as the app connects): what each
    received, and whether the server closed it. A closed socket is not reopened: it counts."""

    def __init__(self, port: int, tokens: list[str]) -> None:
        from websockets.sync.client import connect

        self.received: dict[str, list[int]] = {token: [] for token in tokens}
        self.closed: dict[str, float] = {}  # by the server, before close()
        self.closing = False
        self.sockets = [connect(f"ws://127.0.0.1:{port}/ws/notifications/?token={t}", open_timeout=10) for t in tokens]
        self.threads = [
            threading.Thread(target=self._read, args=(t, ws), daemon=True)
            for t, ws in zip(tokens, self.sockets, strict=True)
        ]
        for thread in self.threads:
            thread.start()

    def _read(self, token: str, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            for raw in ws:
                message = json.loads(raw)
                if message.get("id"):
                    self.received[token].append(message["id"])
        except ConnectionClosed:
            pass
        if not self.closing:
            self.closed[token] = time.monotonic()

    def close(self) -> None:
        self.closing = True
        for ws in self.sockets:
            ws.close()


def group_cpu(pid: int) -> float:
    return sum(proc_cpu(p) for p in family(pid))


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / os.sysconf("SC_CLK_TCK"), total / os.sysconf("SC_CLK_TCK")


def server_env(config: Config, redis_url: str, tmp: Path, port: int) -> dict[str, str]:
    from tests.realtime.support import service_env

    env = service_env(DATABASE_URL, redis_url) | {
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-not-secret-0123456789abcdef0123456789abcdef",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
        "EARLY_CHECK_IN_MINUTES": str(CHECK_IN_WINDOW_MINUTES),
        "CHECK_IN_GRACE_MINUTES": str(CHECK_IN_WINDOW_MINUTES),
        "SWEEP_INTERVAL_SECONDS": str(config.sweep_interval_s),
    }
    if config.record_sms:
        env |= {"SMS_BACKEND": "tests.faults.sms.RecordingSms", "FAULT_SMS_LOG": str(tmp / "sms.log")}
    return env


def start_processes(config: Config, tmp: Path, redis_url: str, port: int) -> dict[str, Any]:
    from tests.realtime.support import Process, wait_for_port

    env = server_env(config, redis_url, tmp, port)
    venv_bin = Path(sys.executable).parent
    web = Process(
        "gunicorn",
        [
            str(venv_bin / "gunicorn"),
            "clinic.asgi:application",
            "--worker-class",
            "uvicorn_worker.UvicornWorker",
            "--workers",
            str(config.web_workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--keep-alive",
            "300",
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ],
        tmp / "gunicorn.log",
        env,
    ).start()
    worker = Process(
        "celery worker",
        [sys.executable, "-m", "celery", "-A", "clinic", "worker", "--pool", "prefork", "--concurrency", "2"]
        + ["-n", f"load-{port}@%h", "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        tmp / "worker.log",
        env,
    ).start()
    started = {"web": web, "worker": worker}
    if config.beat:
        started["beat"] = Process(
            "celery beat",
            [sys.executable, "-m", "celery", "-A", "clinic", "beat", "-l", "warning"]
            + ["-s", str(tmp / "beat-schedule"), "--pidfile", str(tmp / "beat.pid")],
            tmp / "beat.log",
            env,
        ).start()
    wait_for_port(port, deadline_s=60, proc=web.proc)
    return started


def start_boards(tmp: Path) -> list[Any]:
    from tests.hardware.helpers import SimProcess

    return [SimProcess(tmp / f"board{b}.log") for b in range(math.ceil(SCAN_ROOMS / RELAYS_PER_BOARD))]


# --- service times: each endpoint alone, one request at a time ------------------------------------


def probe(port: int, world: World, web_pid: int, today) -> list[str]:
    """PROBE_N sequential requests per endpoint on the idle platform: median latency (about the
    service time), web CPU and database transactions per request. Where a request's time goes
    before any queueing."""
    http = Connection(port)
    staff, manager = world.reviewer_tokens["staff"][0], world.reviewer_tokens["room_manager"][0]
    day = today + timedelta(days=10)
    tz_start = datetime(day.year, day.month, day.day, 8)

    def slot(i: int) -> dict:
        from django.utils import timezone

        start = timezone.make_aware(tz_start + timedelta(minutes=30 * (i // BOOKING_ROOMS)))
        return {"room": world.booking_rooms[i % BOOKING_ROOMS], "start": start.isoformat()}

    rows: list[tuple[str, list[float], float, float]] = []

    def measure(label: str, calls: list[Callable[[], tuple[int, Any]]], ok: set[int]) -> list[Any]:
        cpu0, busy0 = group_cpu(web_pid), machine_busy()[0]
        times, answers = [], []
        for call in calls:
            began = time.monotonic()
            status, body = call()
            times.append(time.monotonic() - began)
            answers.append(body)
            if status not in ok:
                raise RuntimeError(f"probe {label}: {status} {body}")
        n = len(calls)
        rows.append((label, times, (group_cpu(web_pid) - cpu0) / n, (machine_busy()[0] - busy0) / n))
        return answers

    donor = world.probe_tokens[0]
    n = range(PROBE_N)
    measure("GET /api/me/ (empty, authenticated)", [lambda: http.call("GET", "/api/me/", donor)] * PROBE_N, {200})
    slots_path = f"/api/slots/?date={today + timedelta(days=1):%Y-%m-%d}"
    measure("GET /api/slots/", [lambda: http.call("GET", slots_path, None)] * PROBE_N, {200})
    booked = measure(
        "POST /api/bookings/",
        [lambda i=i: http.call("POST", "/api/bookings/", world.probe_tokens[1 + i], slot(i)) for i in n],
        {201},
    )
    ids = [b["id"] for b in booked]
    measure(
        "GET /api/bookings/{id}/",
        [lambda i=i: http.call("GET", f"/api/bookings/{ids[i]}/", world.probe_tokens[1 + i]) for i in n],
        {200},
    )
    tasks = measure("GET /api/tasks/", [lambda: http.call("GET", "/api/tasks/", staff)] * PROBE_N, {200})[-1]
    room_tasks = http.call("GET", "/api/tasks/", manager)[1]
    measure(
        "POST /api/tasks/{id}/approve/ (staff)",
        [lambda t=t: http.call("POST", f"/api/tasks/{t['id']}/approve/", staff, {}) for t in tasks[:PROBE_N]],
        {200},
    )
    measure(
        "POST /api/tasks/{id}/approve/ (room, completes)",
        [lambda t=t: http.call("POST", f"/api/tasks/{t['id']}/approve/", manager, {}) for t in room_tasks[:PROBE_N]],
        {200},
    )
    measure(
        "POST /api/bookings/{id}/cancel/",
        [lambda i=i: http.call("POST", f"/api/bookings/{ids[i]}/cancel/", world.probe_tokens[1 + i], {}) for i in n],
        {200},
    )
    measure(
        "POST /api/scan/ (enter: relay pulse)",
        [lambda k=k, d=d: http.call("POST", "/api/scan/", k, {"door": d}) for k, d in world.probe_scans],
        {200},
    )
    measure(
        "POST /api/scan/ (leave)",
        [
            lambda k=k, d=d: http.call("POST", "/api/scan/", k, {"door": d, "action": "finish"})
            for k, d in world.probe_scans
        ],
        {200},
    )
    http.close()
    lines = [
        f"{'service time, one request at a time (n=' + str(PROBE_N) + ')':<48} {'p50 ms':>8} {'web CPU ms':>11} "
        f"{'machine CPU ms':>15}"
    ]
    for label, times, cpu, busy in rows:
        lines.append(f"{label:<48} {statistics.median(times) * 1000:>8.1f} {cpu * 1000:>11.1f} {busy * 1000:>15.1f}")
    lines.append(
        "(machine CPU: every process of the machine while the requests ran: web, PostgreSQL backends, the "
        "Celery worker, and whatever else runs there)"
    )
    return lines


# --- figures -------------------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 10) - 1]


ENDPOINT_ORDER = [
    "GET /api/slots/",
    "POST /api/bookings/",
    "GET /api/bookings/{id}/",
    "POST /api/bookings/{id}/cancel/",
    "GET /api/tasks/",
    "POST /api/tasks/{id}/approve/",
    "POST /api/scan/ (enter)",
    "POST /api/scan/ (leave)",
]


def latency_table(samples: list[Sample], wall: float, title: str = "") -> list[str]:
    by: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by[sample.endpoint].append(sample)
    lines = []
    if title:
        lines.append(title)
    lines.append(
        f"{'endpoint':<34} {'n':>6} {'rps':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}  answers"
    )
    order = [e for e in ENDPOINT_ORDER if e in by] + sorted(set(by) - set(ENDPOINT_ORDER))
    for endpoint in [*order, "all"]:
        rows = samples if endpoint == "all" else by[endpoint]
        if not rows:
            continue
        ms = [s.latency * 1000 for s in rows]
        statuses = Counter(s.status for s in rows)
        answers = " ".join(f"{status}×{n}" for status, n in sorted(statuses.items()))
        lines.append(
            f"{endpoint:<34} {len(rows):>6} {len(rows) / wall:>6.1f} {pct(ms, 50):>8.1f} {pct(ms, 95):>8.1f} "
            f"{pct(ms, 99):>8.1f} {max(ms):>8.1f}  {answers}"
        )
    return lines


def window_table(
    samples: list[Sample], wall: float, width_s: float = 10.0, cpu: Sequence[tuple[float, dict[str, float]]] = ()
) -> list[str]:
    """The run in slices of `width_s` seconds (by send time): a start-up surge or a stall shows
    here, where the whole run's percentiles would hide when it happened. `cpu`: (elapsed, CPU
    seconds used so far by "web", "worker" and the whole "machine"), one reading per slice
    boundary: what each slice cost, as a share of one core."""
    by: dict[int, list[Sample]] = defaultdict(list)
    for sample in samples:
        by[int(sample.at // width_s)].append(sample)
    used: dict[int, dict[str, float]] = {}
    for (t0, c0), (t1, c1) in itertools.pairwise(cpu):
        index = round(t0 / width_s)
        used[index] = {name: (c1[name] - c0[name]) / max(t1 - t0, 1e-9) for name in c1}
    lines = [
        f"{'seconds into the run':<22} {'n':>6} {'rps':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'> target':>9}"
        + ("   web  worker  machine (share of one core)" if used else "")
    ]
    for index in sorted(by):
        rows = by[index]
        ms = [s.latency * 1000 for s in rows]
        span = min(width_s, wall - index * width_s) or width_s
        slow = sum(m > TARGET_P95_MS for m in ms)
        label = f"{index * width_s:.0f}–{min((index + 1) * width_s, wall):.0f}"
        line = (
            f"{label:<22} {len(rows):>6} {len(rows) / span:>6.1f} {pct(ms, 50):>8.1f} {pct(ms, 95):>8.1f} "
            f"{max(ms):>8.1f} {slow:>9}"
        )
        if index in used:
            share = used[index]
            line += f"  {share['web']:>5.0%}  {share['worker']:>6.0%}  {share['machine']:>7.0%}"
        lines.append(line)
    return lines


def overlapping_bookings() -> int:
    from django.db import connection

    from clinic.bookings.models import ACTIVE_STATUSES

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM bookings_booking a JOIN bookings_booking b
              ON a.room_id = b.room_id AND a.id < b.id AND a.start < b."end" AND b.start < a."end"
             WHERE a.status = ANY(%s) AND b.status = ANY(%s)
            """,
            [list(ACTIVE_STATUSES), list(ACTIVE_STATUSES)],
        )
        return cursor.fetchone()[0]


def half_written() -> dict[str, int]:
    from django.db.models import Count

    from clinic.bookings.models import Booking
    from workflows.models import BookingProcess

    return {
        "bookings without a process": Booking.objects.annotate(n=Count("processes")).filter(n=0).count(),
        "processes without a booking": BookingProcess.objects.filter(booking__isnull=True).count(),
    }


def relay_pulses(boards: list[Any]) -> int:
    return sum(sum(" ON cmd=flash" in line for line in board.lines()) for board in boards)


def xacts() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


# --- main ------------------------------------------------------------------------------------------


def run(config: Config, *, on_tick: Callable[[float, dict], None] | None = None) -> dict[str, Any]:
    """Build everything, run the traffic, print the figures; returns them for bench/soak.py."""
    began = time.monotonic()
    recreate_database(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from clinic.notifications.models import Notification
    from tests.realtime.support import RedisServer, free_port

    call_command("migrate", interactive=False, verbosity=0)
    migrated = time.monotonic() - began
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    redis = RedisServer(tmp).start()
    boards: list[Any] = []
    processes: dict[str, Any] = {}
    figures: dict[str, Any] = {"tmp": tmp}
    try:
        boards = start_boards(tmp)
        world = make_world(config, [board.port for board in boards])
        # Statistics for the planner, as a database in service has them: this one was filled in
        # seconds, before autovacuum's first ANALYZE, and plans made on empty-table estimates
        # scan whole tables (task lookups of Viewflow's joins among them).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        port = free_port()
        connection.close()
        processes = start_processes(config, tmp, redis.url, port)
        print(
            f"database {connection.settings_dict['NAME']} migrated in {migrated:.1f} s; "
            f"{len(world.scans)} scan bookings made and approved in {world.arm_seconds:.1f} s; "
            f"gunicorn {config.web_workers} uvicorn workers on 127.0.0.1:{port}, Celery prefork ×2, "
            f"redis-server :{redis.port}, {len(boards)} relay simulators; logs in {tmp}"
        )
        # Warm every web worker (each keep-alive connection sticks to one): imports, URL resolver.
        warm = [Connection(port) for _ in range(8 * config.web_workers)]
        day = timezone.localdate() + timedelta(days=1)
        for _ in range(3):
            for http in warm:
                http.call("GET", f"/api/slots/?date={day:%Y-%m-%d}", None)
                http.call("GET", "/api/tasks/", world.reviewer_tokens["staff"][0])
                http.call("GET", "/api/me/", world.donor_tokens[0])
        for http in warm:
            http.close()
        print()
        for line in probe(port, world, processes["web"].proc.pid, timezone.localdate()):
            print(line)

        rng = random.Random(1)
        today = timezone.localdate()
        the_run = Run(config, port, today)
        # Each donor's first step comes after a pause drawn like all his others: the run starts as
        # a steady day looks at any moment. (Starting all of them within the first 5 s offered
        # twice the default load for those seconds, and most of the run's slow answers came from
        # that start: see the table by 10 s below.)
        actors: list[tuple[float, Actor]] = []
        for token in world.donor_tokens:
            donor_rng = random.Random(rng.random())
            actors.append((think_time(donor_rng, config.think_s), Donor(token, donor_rng)))
        for kind in ("staff", "room_manager"):
            tokens = world.reviewer_tokens[kind]
            actors += [(rng.uniform(0, 1), Reviewer(t, i, len(tokens))) for i, t in enumerate(tokens)]
        interval = 2 / config.scan_rate
        actors += [(i * interval, Scan(token, door, first=True)) for i, (token, door) in enumerate(world.scans)]

        groups = {name: process.proc.pid for name, process in processes.items()}
        groups["relay simulators"] = boards
        cpu0 = {name: group_cpu(pid) for name, pid in groups.items() if name != "relay simulators"}
        cpu0["relay simulators"] = sum(proc_cpu(b.proc.pid) for b in boards)
        cpu0["redis-server"] = proc_cpu(redis.proc.pid)
        self0 = resource.getrusage(resource.RUSAGE_SELF)
        busy0, total0 = machine_busy()
        xacts0 = xacts()
        connection.close()
        load0 = os.getloadavg()[0]

        events: dict[str, float] = {}
        held = None
        if config.idle_sockets:
            held = HeldSockets(port, world.donor_tokens[: config.idle_sockets])
            figures["held_from"] = timezone.now()
        rss_pids = {name: process.proc.pid for name, process in processes.items()} | {"redis-server": redis.proc.pid}
        rss: list[tuple[float, dict[str, float]]] = [(0.0, {name: rss_mb(pid) for name, pid in rss_pids.items()})]
        figures["rss"] = rss

        def cpu_now() -> dict[str, float]:
            return {name: group_cpu(processes[name].proc.pid) for name in ("web", "worker")} | {
                "machine": machine_busy()[0]
            }

        cpu_marks: list[tuple[float, dict[str, float]]] = [(0.0, cpu_now())]

        def tick(elapsed: float) -> None:
            if elapsed - cpu_marks[-1][0] >= 10.0:
                cpu_marks.append((elapsed, cpu_now()))
            if config.rss_every_s and elapsed - rss[-1][0] >= config.rss_every_s:
                rss.append((elapsed, {name: rss_mb(pid) for name, pid in rss_pids.items()}))
            if config.outage_at is not None:
                if "down" not in events and elapsed >= config.outage_at:
                    redis.stop()
                    events["down"] = elapsed
                elif "down" in events and "up" not in events and elapsed >= config.outage_at + config.outage_s:
                    redis.start()
                    events["up"] = elapsed
            if on_tick is not None:
                on_tick(elapsed, events)

        pulses0 = relay_pulses(boards)  # the probe's
        figures["started_wall"] = time.time()
        wall = the_run.go(actors, tick)
        cpu_marks.append((wall, cpu_now()))  # the last slice, up to the last answer

        self1 = resource.getrusage(resource.RUSAGE_SELF)
        busy1, total1 = machine_busy()
        cpu1 = {name: group_cpu(pid) for name, pid in groups.items() if name != "relay simulators"}
        cpu1["relay simulators"] = sum(proc_cpu(b.proc.pid) for b in boards)
        cpu1["redis-server"] = proc_cpu(redis.proc.pid) if redis.proc else 0.0
        xacts1 = xacts()

        # Notifications: what the workers had delivered at the end, and after a drain.
        ended = time.monotonic()
        undelivered_at_end = Notification.objects.filter(delivered_at__isnull=True).count()
        while Notification.objects.filter(delivered_at__isnull=True).exists():
            if time.monotonic() - ended > config.drain_s:
                break
            time.sleep(0.5)
        drained = time.monotonic() - ended
        written_from = datetime.fromtimestamp(figures["started_wall"], tz=UTC)
        delivery_ms = sorted(
            (delivered - created).total_seconds() * 1000
            for created, delivered in Notification.objects.filter(
                created__gte=written_from, delivered_at__isnull=False
            ).values_list("created", "delivered_at")
        )
        rss.append((wall + drained, {name: rss_mb(pid) for name, pid in rss_pids.items()}))
        if held is not None:
            time.sleep(2)  # the last deliveries reach the sockets
            figures["held"] = held
            held.close()
        figures["logs"] = {name: process.log() for name, process in processes.items()}
        samples = the_run.results.samples
        figures |= {
            "samples": samples,
            "wall": wall,
            "events": events,
            "notifications": Notification.objects.count(),
            "undelivered_at_end": undelivered_at_end,
            "undelivered": Notification.objects.filter(delivered_at__isnull=True).count(),
            "drained_s": drained,
            "delivery_ms": delivery_ms,
            "overlaps": overlapping_bookings(),
            "half_written": half_written(),
            "pulses": relay_pulses(boards) - pulses0,
            "unlocked": the_run.unlocked,
            "world": world,
            "processes": processes,
            "redis": redis,
        }

        print()
        for line in latency_table(samples, wall, f"{len(samples)} requests in {wall:.1f} s"):
            print(line)
        print()
        for line in window_table(samples, wall, cpu=cpu_marks):
            print(line)
        server_errors = [s for s in samples if s.status >= 500 or s.status == 0]
        errors = Counter((s.status, s.code) for s in samples if s.status >= 400 or s.status == 0)
        print()
        print(
            "answers other than 2xx: "
            + (", ".join(f"{st} {code or '-'}×{n}" for (st, code), n in sorted(errors.items())) or "none")
        )
        print(f"5xx or no answer: {len(server_errors)}")
        scans = sorted((s.lag + s.latency) * 1000 for s in samples if s.endpoint.startswith("POST /api/scan/"))
        if scans:
            print(
                f"door scans from their due time (open loop: client lag included): p50 {pct(scans, 50):.0f} ms, "
                f"p95 {pct(scans, 95):.0f} ms, p99 {pct(scans, 99):.0f} ms"
            )
        lags = sorted(s.lag for s in samples)
        print(
            f"client pool lag (sent after due): p50 {pct(lags, 50) * 1000:.1f} ms, p99 {pct(lags, 99) * 1000:.1f} ms, "
            f"max {lags[-1] * 1000:.1f} ms"
        )
        print(
            f"overlapping active bookings (same room): {figures['overlaps']}; "
            + "; ".join(f"{k}: {v}" for k, v in figures["half_written"].items())
        )
        print(
            f"door: {the_run.unlocked} doors opened, {figures['pulses']} relay pulses on the simulators; "
            f"notifications: {figures['notifications']} created, {undelivered_at_end} undelivered when the traffic "
            f"stopped, {figures['undelivered']} after {drained:.1f} s more"
        )
        if delivery_ms:
            print(
                f"notification delivery, from its row written (before the commit) to claimed for its push: p50 "
                f"{pct(delivery_ms, 50):.0f} ms, p95 {pct(delivery_ms, 95):.0f} ms, max {delivery_ms[-1]:.0f} ms"
            )

        cpu_self = (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime)
        ncpu = os.cpu_count() or 1
        busy = busy1 - busy0
        print()
        print(f"CPU during the run ({wall:.1f} s wall, {ncpu} cores; share of one core):")
        ours = cpu_self
        print(f"  load generator (this process)   {cpu_self:7.1f} s  {cpu_self / wall:6.1%}")
        for name in cpu1:
            used = cpu1[name] - cpu0.get(name, 0.0)
            ours += used
            print(f"  {name:<31} {used:7.1f} s  {used / wall:6.1%}")
        print(f"  rest of the machine (PostgreSQL, other work) {busy - ours:5.1f} s  {(busy - ours) / wall:6.1%}")
        print(
            f"  machine busy {busy / (total1 - total0):.0%} of {ncpu} cores; load average {load0:.1f} before, "
            f"{os.getloadavg()[0]:.1f} after; PostgreSQL {(xacts1 - xacts0) / wall:.0f} transactions/s on this database"
        )
        web_cpu = cpu1["web"] - cpu0["web"]
        if samples:
            print(f"  web CPU per request: {web_cpu / len(samples) * 1000:.1f} ms")
            print(
                f"  machine CPU per answered request: {busy / len(samples) * 1000:.1f} ms, i.e. at most "
                f"{ncpu / (busy / len(samples)):.0f} requests/s on this machine at this mix "
                f"(offered: {len(samples) / wall:.0f}/s answered, client lag p50 {pct(lags, 50) * 1000:.0f} ms)"
            )
        figures |= {"cpu_self_share": cpu_self / wall, "web_cpu_per_request": web_cpu / max(len(samples), 1)}

        ok = [s for s in samples if s.status and s.status < 500]
        p95 = pct([s.latency * 1000 for s in ok], 95) if ok else float("nan")
        worst = max(
            ((e, pct([s.latency * 1000 for s in ok if s.endpoint == e], 95)) for e in {s.endpoint for s in ok}),
            key=lambda pair: pair[1],
            default=("-", float("nan")),
        )
        verdicts = [
            f"5xx {len(server_errors)} ({'met' if not server_errors else 'MISSED'})",
            f"overlaps {figures['overlaps']} ({'met' if not figures['overlaps'] else 'MISSED'})",
            f"p95 all {p95:.0f} ms, worst endpoint {worst[0]} {worst[1]:.0f} ms "
            f"({'met' if worst[1] <= TARGET_P95_MS else 'MISSED'} ≤ {TARGET_P95_MS:.0f} ms)",
        ]
        print()
        print("targets: " + "; ".join(verdicts))
        figures |= {"p95": p95, "worst_p95": worst, "server_errors": len(server_errors)}
        print(f"total bench time {time.monotonic() - began:.0f} s")
        return figures
    except Exception:
        for name, process in processes.items():
            print(f"--- {name} ---\n{process.log()[-3000:]}", file=sys.stderr)
        raise
    finally:
        for process in processes.values():
            process.stop()
        for board in boards:
            board.stop()
        redis.stop()


def parser(description: str) -> argparse.ArgumentParser:
    defaults = Config()
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--seconds", type=float, default=defaults.seconds, help="length of the measured run")
    p.add_argument("--donors", type=int, default=defaults.donors)
    p.add_argument("--reviewers", type=int, default=defaults.reviewers, help="staff, and as many room managers")
    p.add_argument("--scan-rate", type=float, default=defaults.scan_rate, help="door scans per second (in + out)")
    p.add_argument("--think", type=float, default=defaults.think_s, help="donors' mean think time (s)")
    p.add_argument("--threads", type=int, default=defaults.threads, help="client threads (keep-alive connections)")
    p.add_argument("--web-workers", type=int, default=defaults.web_workers)
    return p


def config_from(args: argparse.Namespace, **extra: Any) -> Config:
    return Config(
        seconds=args.seconds,
        donors=args.donors,
        reviewers=args.reviewers,
        scan_rate=args.scan_rate,
        think_s=args.think,
        threads=args.threads,
        web_workers=args.web_workers,
        **extra,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    run(config_from(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
