"""Review approvals per second through the REST API (POST /api/tasks/{id}/approve/).

Creates N pending bookings through BookingFlow (distinct donors, rooms and slots), then approves
their staff reviews and then their room reviews (the second review completes the process: join,
decide, approved, check_in opens), one half single-threaded and the other half from 4 threads
with a client and a reviewer each. Prints approvals/s, median and p95 latency.

Run: .venv/bin/python bench/approvals.py [-n 300] [--threads 4]
DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/clinic_bench_approvals (created if
missing, migrated, emptied at each run). Notification deliveries go to a private Redis database
(CELERY_BROKER_URL, default redis://127.0.0.1:6379/13, emptied before and after), never to a
broker a real worker reads. Prints numbers only, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a plain script from anywhere

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/clinic_bench_approvals"
DEFAULT_BROKER = "redis://127.0.0.1:6379/13"
ROOMS = 10
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
os.environ.setdefault("CELERY_BROKER_URL", DEFAULT_BROKER)
os.environ.setdefault("LOG_LEVEL", "WARNING")


def ensure_database(url: str) -> None:
    """CREATE DATABASE if it does not exist (PostgreSQL only; SQLite files create themselves)."""
    parsed = urlparse(url)
    if not parsed.scheme.startswith("postgres"):
        return
    import psycopg
    from psycopg import sql

    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def empty_broker(url: str) -> bool:
    """Empty the private broker database; False when Redis is not there."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        client.flushdb()
        client.close()
        return True
    except redis.RedisError:
        return False


def reset_data() -> None:
    """Empty every table, then give the roles their default permissions again (as the data
    migrations did: flush recreates content types and permissions, not the roles)."""
    from django.core.management import call_command

    from tests.factories import restore_roles

    call_command("migrate", verbosity=0, interactive=False)
    call_command("flush", verbosity=0, interactive=False)
    restore_roles()


def make_users(prefix: str, role: str, count: int, *, donors: bool) -> list:
    """Users in bulk (no password hashing: they authenticate by token)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from clinic.accounts.models import DonorProfile, User

    users = User.objects.bulk_create(
        [
            User(username=f"{prefix}{i}", password=make_password(None), phone=f"139{i:08d}", is_staff=not donors)
            for i in range(count)
        ]
    )
    group = Group.objects.get(name=role)
    User.groups.through.objects.bulk_create([User.groups.through(user_id=u.pk, group_id=group.pk) for u in users])
    if donors:
        DonorProfile.objects.bulk_create([DonorProfile(user=u, real_name=f"Donor {u.pk}") for u in users])
    return list(User.objects.filter(pk__in=[u.pk for u in users]).order_by("pk"))


def make_bookings(n: int) -> list[int]:
    from django.db import transaction
    from django.utils import timezone

    from clinic.rooms.models import Opening, Room
    from workflows import bookings

    rooms = []
    for i in range(ROOMS):
        room = Room.objects.create(name=f"Room {i + 1}", coil=i % 8)
        Opening.objects.create(
            room=room,
            weekdays=list(range(7)),
            start_time=timezone.datetime(2000, 1, 1, 8, 0).time(),
            end_time=timezone.datetime(2000, 1, 1, 20, 0).time(),
            slot_minutes=30,
        )
        rooms.append(room)
    donors = make_users("donor", "donor", n, donors=True)
    tz = timezone.get_default_timezone()
    first_day = timezone.localdate() + timedelta(days=1)
    ids = []
    with transaction.atomic():  # setup only: one commit instead of N
        for i, donor in enumerate(donors):
            slot = i // ROOMS  # 24 half-hour slots a day in each room
            day = first_day + timedelta(days=slot // 24)
            start = timezone.datetime(day.year, day.month, day.day, 8, 0, tzinfo=tz)
            start += timedelta(minutes=30 * (slot % 24))
            booking = bookings.request_booking(actor=donor, donor=donor, room_id=rooms[i % ROOMS].pk, start=start)
            ids.append(booking.pk)
    return ids


def review_task_ids(booking_ids: Sequence[int], name: str) -> list[int]:
    from viewflow.workflow.models import Task
    from viewflow.workflow.status import STATUS

    from workflows.flows import BookingFlow

    tasks = Task.objects.filter(
        process__bookingprocess__booking_id__in=booking_ids, flow_task=getattr(BookingFlow, name), status=STATUS.NEW
    ).values_list("pk", flat=True)
    return sorted(tasks)


def api_client(user):
    from rest_framework.test import APIClient

    from clinic.accounts.models import AccessToken as Token

    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def approve_all(clients: Sequence, task_ids: Sequence[int]) -> tuple[float, list[float], int]:
    """Approve the tasks, split round-robin over the clients (one thread each when several).
    Returns wall time, per-request latencies and the number of non-200 answers."""
    from django.db import connections

    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def run(client, ids: Sequence[int], barrier: threading.Barrier | None) -> None:
        mine, bad = [], 0
        try:
            if barrier is not None:
                barrier.wait()
            for tid in ids:
                t0 = time.perf_counter()
                response = client.post(f"/api/tasks/{tid}/approve/", {}, format="json")
                mine.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    bad += 1
        finally:
            with lock:
                latencies.extend(mine)
                failures[0] += bad
            if barrier is not None:
                connections.close_all()

    parts = [task_ids[i :: len(clients)] for i in range(len(clients))]
    t0 = time.perf_counter()
    if len(clients) == 1:
        run(clients[0], parts[0], None)
    else:
        barrier = threading.Barrier(len(clients))
        threads = [threading.Thread(target=run, args=(c, p, barrier)) for c, p in zip(clients, parts, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return time.perf_counter() - t0, latencies, failures[0]


def report(label: str, wall: float, latencies: Sequence[float], failures: int) -> None:
    ms = [s * 1000 for s in latencies]
    p95 = statistics.quantiles(ms, n=20)[18] if len(ms) >= 2 else ms[0]
    print(
        f"{label:<34} {len(ms):4d} approvals  {len(ms) / wall:7.1f} /s   "
        f"median {statistics.median(ms):6.1f} ms   p95 {p95:6.1f} ms" + (f"   NON-200: {failures}" if failures else "")
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="pending bookings to create (even, ≤ 2400)")
    parser.add_argument("--threads", type=int, default=4, help="threads (clients) in the concurrent runs")
    args = parser.parse_args(argv)
    n, threads = args.n - args.n % 2, args.threads

    db_url = os.environ["DATABASE_URL"]
    ensure_database(db_url)
    broker = os.environ["CELERY_BROKER_URL"]
    broker_up = empty_broker(broker)

    import django

    django.setup()
    from django.db import connection

    if not broker_up:
        # A broker that is down would cost each approval a publish timeout: measure the
        # approvals, not the timeout (the rows stay for the sweep, as in production).
        from clinic.notifications import services

        services.enqueue = lambda ids, rooms=None: None

    t0 = time.perf_counter()
    reset_data()
    sam = make_users("staff", "staff", threads, donors=False)
    rita = make_users("roomman", "room_manager", threads, donors=False)
    booking_ids = make_bookings(n)
    setup = time.perf_counter() - t0
    where = f"{connection.vendor} {connection.settings_dict['NAME']}"
    notes = f"broker {broker}" if broker_up else "broker down: deliveries not enqueued"
    print(f"{where}; {n} pending bookings made through the flow in {setup:.1f} s; {notes}")

    single, concurrent = booking_ids[: n // 2], booking_ids[n // 2 :]
    runs = [
        ("staff review, 1 thread", sam[:1], single, "staff_review"),
        ("room review (completes), 1 thread", rita[:1], single, "room_review"),
        (f"staff review, {threads} threads", sam, concurrent, "staff_review"),
        (f"room review (completes), {threads} threads", rita, concurrent, "room_review"),
    ]
    for label, reviewers, bookings, node in runs:
        report(label, *approve_all([api_client(u) for u in reviewers], review_task_ids(bookings, node)))

    from clinic.bookings.models import Booking

    approved = Booking.objects.filter(pk__in=booking_ids, status="approved").count()
    print(f"bookings approved: {approved}/{n}; whole run {time.perf_counter() - t0:.0f} s")
    if broker_up:
        empty_broker(broker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
