"""Latency of the slot list (GET /api/slots/?date=) and of the slot engine behind it, with a
long booking history and with almost none: the cost must not grow with past bookings.

Data: 50 rooms open weekly 08:00-20:00 in 15-minute slots; over the 14 days before today
20,000 completed bookings, over the 14 days after 2,000 active ones (no two overlapping in a
room); then the same with 200 bookings in all; last, the first set with 500 clients on the
waiting list and 50 free slots held for some of them (10 on the day measured). Measures, on a
day a week ahead, the endpoint through django.test.Client (the whole middleware stack, JSON
rendering) and `slots_on(day)` alone: median and p95 over -n runs, and the SQL queries of one
call. If the endpoint misses its p95 target, prints a profile of where the time goes.

Run: .venv/bin/python bench/availability.py [-n 200]
DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/clinic_bench (created if missing,
migrated, emptied and rebuilt at each run). A DATABASE_URL whose database name does not say
"bench" (e.g. `make bench` passing the test database) is not touched: the same server's
clinic_bench is used instead. Prints numbers only, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a plain script from anywhere

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/clinic_bench"
ROOMS = 50
SLOT_MINUTES = 15
SLOTS_PER_DAY = (20 - 8) * 60 // SLOT_MINUTES  # 48
DAYS = 14
TARGET_P95_MS = 30.0


def bench_database_url() -> str:
    """The bench database: DATABASE_URL if its name says "bench", else clinic_bench on the
    same server (the bench empties its database at each run)."""
    url = os.environ.get("DATABASE_URL") or DEFAULT_DB
    parsed = urlparse(url)
    if not parsed.scheme.startswith("postgres"):
        sys.exit(f"{url!r}: the benches run on PostgreSQL")
    if "bench" not in parsed.path.lstrip("/"):
        url = parsed._replace(path="/clinic_bench").geturl()
        print(f"(DATABASE_URL names no bench database; using {url})")
    return url


def setup_django() -> str:
    """Point Django at the bench database (created if missing) and migrate it."""
    url = bench_database_url()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DEBUG", "0")  # as in production: no query log, no debug pages
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdef0123456789abcdef")
    ensure_database(url)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    # Notification deliveries would go to the shared broker: the rows stay, nothing is sent.
    from clinic.notifications import services

    services.enqueue = lambda ids, rooms=None: None
    return url


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def reset_data() -> None:
    """Empty every table; give the roles their default permissions again."""
    from django.core.management import call_command

    from tests.factories import restore_roles

    call_command("flush", verbosity=0, interactive=False)
    restore_roles()


def make_donors(prefix: str, count: int) -> list:
    """Donors in bulk (no password hashing)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from clinic.accounts.models import DonorProfile, User

    users = User.objects.bulk_create(
        [User(username=f"{prefix}{i}", password=make_password(None), phone=f"138{i:08d}") for i in range(count)],
        batch_size=2000,
    )
    group = Group.objects.get(name="donor")
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=u.pk, group_id=group.pk) for u in users], batch_size=2000
    )
    DonorProfile.objects.bulk_create([DonorProfile(user=u) for u in users], batch_size=2000)
    return list(User.objects.filter(pk__in=[u.pk for u in users]).order_by("pk"))


def make_rooms(count: int = ROOMS) -> list:
    from datetime import time as clock

    from clinic.rooms.models import Opening, Room

    rooms = Room.objects.bulk_create([Room(name=f"Room {i + 1:02d}", coil=i) for i in range(count)])
    Opening.objects.bulk_create(
        [
            Opening(
                room=room, weekdays=list(range(7)), start_time=clock(8), end_time=clock(20), slot_minutes=SLOT_MINUTES
            )
            for room in rooms
        ]
    )
    return rooms


def slot_start(day: date, index: int):
    from datetime import time as clock

    from clinic.rooms.services import local_datetime

    return local_datetime(day, clock(8)) + timedelta(minutes=SLOT_MINUTES * index)


def make_bookings(rooms: Sequence, donors: Sequence, *, past: int, future: int, seed: int = 7) -> None:
    """`past` completed bookings over the 14 days before today and `future` active ones over
    the 14 days after, each in a distinct (room, day, slot): never two overlapping in a room.
    Active bookings get distinct donors (one active booking per donor)."""
    from django.utils import timezone

    from clinic.bookings.models import Booking

    rng, rng_future = random.Random(seed), random.Random(seed + 1)
    today = timezone.localdate()
    cells = [(r, d, s) for r in range(len(rooms)) for d in range(1, DAYS + 1) for s in range(SLOTS_PER_DAY)]
    step = timedelta(minutes=SLOT_MINUTES)
    rows = []
    for n, (r, d, s) in enumerate(rng.sample(cells, past)):
        start = slot_start(today - timedelta(days=d), s)
        rows.append(
            Booking(
                donor=donors[n % len(donors)],
                room=rooms[r],
                start=start,
                end=start + step,
                status="completed",
                staff_review="approved",
                room_review="approved",
            )
        )
    for n, (r, d, s) in enumerate(rng_future.sample(cells, future)):
        start = slot_start(today + timedelta(days=d), s)
        status = "approved" if n % 2 else "pending"
        rows.append(Booking(donor=donors[n], room=rooms[r], start=start, end=start + step, status=status))
    Booking.objects.bulk_create(rows, batch_size=5000)


def make_waitlist(donors: Sequence, day: date, *, entries: int = 500, holds: int = 50, seed: int = 11) -> int:
    """`entries` clients waiting over the next DAYS days (a tenth on the day measured), and
    `holds` free slots held for some of them (a fifth on the day measured): the waitlist's
    share of the slot engine's work. Returns the holds made on the day measured."""
    from django.utils import timezone

    from clinic.bookings.availability import slots_between
    from clinic.bookings.models import SlotHold, WaitlistEntry

    rng = random.Random(seed)
    today = timezone.localdate()
    days = [today + timedelta(days=d) for d in range(1, DAYS + 1)]
    rows = [
        WaitlistEntry(client=donor, date=day if i % 10 == 0 else days[i % DAYS], state="waiting")
        for i, donor in enumerate(donors[:entries])
    ]
    rows = WaitlistEntry.objects.bulk_create(rows)
    free = slots_between(days[0], days[-1])
    expires = timezone.now() + timedelta(minutes=15)
    made, on_day = [], 0
    for entry in rows[:holds]:
        hold_day = day if len(made) % 5 == 0 else entry.date
        choices = [(s, room) for s in free[hold_day] for room in s.free_rooms if (room.id, s.start) not in made]
        slot, room = rng.choice(choices)
        made.append((room.id, slot.start))
        on_day += hold_day == day
        SlotHold.objects.create(
            entry=entry, client=entry.client, room_id=room.id, start=slot.start, end=slot.end, expires=expires
        )
        WaitlistEntry.objects.filter(pk=entry.pk).update(state="offered")
    return on_day


def timed(n: int, call: Callable[[], object]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (this thread: Python, not the database server) milliseconds."""
    for _ in range(10):  # warm-up
        call()
    wall, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.thread_time()
        call()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
    return wall, cpu


def p95(ms: Sequence[float]) -> float:
    return statistics.quantiles(ms, n=20)[18]


def queries_of(call: Callable[[], object]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def measure(n: int, day: date) -> dict[str, tuple[float, float, float, int]]:
    from django.test import Client

    from clinic.bookings.availability import slots_on

    client = Client()
    path = f"/api/slots/?date={day.isoformat()}"

    def endpoint():
        response = client.get(path)
        assert response.status_code == 200, response.content[:200]
        return response

    engine = lambda: slots_on(day)  # noqa: E731
    out = {}
    for label, call in (("GET /api/slots/", endpoint), ("slots_on(day)", engine)):
        wall, cpu = timed(n, call)
        out[label] = (statistics.median(wall), p95(wall), p95(cpu), queries_of(call))
    return out


def profile(day: date, runs: int = 50) -> None:
    import cProfile
    import pstats

    from django.test import Client

    client = Client()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        client.get(f"/api/slots/?date={day.isoformat()}")
    profiler.disable()
    print(f"\nprofile of {runs} requests (own time, top 20):")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="runs per measurement (≥ 100)")
    parser.add_argument("--profile", action="store_true", help="print a profile of the endpoint anyway")
    args = parser.parse_args(argv)
    n = max(args.n, 100)

    url = setup_django()
    from django.db import connection
    from django.utils import timezone

    from clinic.bookings.availability import slots_on
    from clinic.bookings.models import Booking, WaitlistEntry

    t0 = time.perf_counter()
    reset_data()
    rooms = make_rooms()
    donors = make_donors("bench-donor-", 2000)
    day = timezone.localdate() + timedelta(days=7)
    results = []
    # The brief's two data sets, and the first one's future without any history: the same
    # bookings on the day measured, so a difference would come from the history.
    # Last, the first data set again with 500 clients on the waiting list and 50 slots held.
    for past, future, waiting in ((20_000, 2_000, 0), (182, 18, 0), (0, 2_000, 0), (20_000, 2_000, 500)):
        WaitlistEntry.objects.all().delete()
        Booking.objects.all().delete()
        make_bookings(rooms, donors, past=past, future=future)
        held = make_waitlist(donors, day, entries=waiting) if waiting else 0
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE bookings_booking")
            cursor.execute("ANALYZE bookings_slothold")
        on_day = Booking.objects.filter(start__date=day).count()
        slots = slots_on(day)
        free = sum(len(s.free_rooms) for s in slots)
        label = f"{past + future:,} bookings ({on_day} that day)"
        if waiting:
            label = f"the same + {waiting} waiting, {held} held that day"
        results.append((label, measure(n, day), len(slots), free))
    setup = time.perf_counter() - t0

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"database {urlparse(url).path.lstrip('/')} on {urlparse(url).hostname}; {ROOMS} rooms open 08:00-20:00")
    print(f"in {SLOT_MINUTES}-minute slots; day measured {day}; {n} runs each; setup {setup:.1f} s")
    print(f"{os.cpu_count()} CPUs, load average {load}: wall-clock figures include waiting for a CPU;")
    print("CPU p95 is this process's own time (Python), without the database server's.\n")
    print(f"{'data':<44} {'call':<16} {'median':>9} {'p95':>9} {'CPU p95':>9} {'queries':>8}")
    for label, figures, count, free in results:
        for call, (median, high, cpu, queries) in figures.items():
            print(f"{label:<44} {call:<16} {median:7.2f}ms {high:7.2f}ms {cpu:7.2f}ms {queries:8d}")
        print(f"{'':<44} ({count} slots, {free} free room-slots in the answer)")
    print()
    big, small, no_history, waiting = results[0][1], results[1][1], results[2][1], results[3][1]
    for call in big:
        print(
            f"ratio {call:<16} 22,000 / 200 bookings: median x{big[call][0] / small[call][0]:.2f}"
            f" p95 x{big[call][1] / small[call][1]:.2f};  22,000 / the same 2,000 future alone:"
            f" median x{big[call][0] / no_history[call][0]:.2f} p95 x{big[call][1] / no_history[call][1]:.2f}"
        )
        print(
            f"ratio {call:<16} with / without 500 waiting and 50 held: median x{waiting[call][0] / big[call][0]:.2f}"
            f" p95 x{waiting[call][1] / big[call][1]:.2f}"
        )
    endpoint_p95 = max(figures["GET /api/slots/"][1] for _, figures, _, _ in results)
    verdict = "met" if endpoint_p95 <= TARGET_P95_MS else "MISSED"
    print(f"target: endpoint p95 <= {TARGET_P95_MS:.0f} ms: {verdict} (worst wall-clock p95 {endpoint_p95:.2f} ms)")
    if verdict == "MISSED" or args.profile:
        profile(day)
    return 0


if __name__ == "__main__":
    sys.exit(main())
