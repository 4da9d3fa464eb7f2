"""Booking under contention on PostgreSQL: non-conflicting bookings per second from 8 threads
through workflows.bookings.request_booking, and 100 simultaneous attempts on one slot.

Throughput: each thread books with its own donors, its own rooms and its own day, one booking
per 15-minute slot, so nothing conflicts (not even with a 10-minute arrival gap); measured with
the gap off (8 threads, and 1 thread for comparison) and on (PostgreSQL serialises gap checks
with an advisory lock). The race: 100 donors POST /api/bookings/ for the same room and slot at
the same instant (a barrier). At most as many hold a database connection at once as the server
has free (max_connections minus those in use, minus a margin), like a connection pool.
Notification deliveries are not published (the rows are written, no broker is involved).

Run: .venv/bin/python bench/booking_contention.py [--per-thread 48] [--attempts 100]
Same database as bench/availability.py (DATABASE_URL naming a bench database, default
clinic_bench; emptied and rebuilt at each run). Prints numbers only, asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a plain script from anywhere

from bench.availability import SLOTS_PER_DAY, make_donors, make_rooms, reset_data, setup_django, slot_start  # noqa: E402

THREADS = 8
ROOMS_PER_THREAD = 6


def book_many(plans: Sequence[Sequence[tuple]], threads: int) -> tuple[float, list[float], Counter]:
    """Each plan is one thread's [(donor, room, start)]. Returns wall time, latencies (ms) and
    outcome counts."""
    from django.db import connection

    from workflows import bookings

    barrier = threading.Barrier(threads)
    latencies: list[float] = []
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def run(plan):
        mine, seen = [], Counter()
        try:
            barrier.wait()
            for donor, room, start in plan:
                t0 = time.perf_counter()
                try:
                    bookings.request_booking(actor=donor, donor=donor, room_id=room.pk, start=start)
                    seen["ok"] += 1
                except Exception as exc:
                    seen[type(exc).__name__] += 1
                mine.append((time.perf_counter() - t0) * 1000)
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)
                outcomes.update(seen)

    workers = [threading.Thread(target=run, args=(plan,)) for plan in plans]
    t0 = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - t0, latencies, outcomes


def plans_for(rooms, donors, threads: int, per_thread: int, first_day) -> list[list[tuple]]:
    """Thread t: rooms[t*6 : t*6+6], day first_day + t, one booking per slot start."""
    plans = []
    for t in range(threads):
        mine = rooms[t * ROOMS_PER_THREAD : (t + 1) * ROOMS_PER_THREAD]
        day = first_day + timedelta(days=t)
        who = donors[t * per_thread : (t + 1) * per_thread]
        plans.append([(who[i], mine[i % len(mine)], slot_start(day, i)) for i in range(per_thread)])
    return plans


def free_connections(margin: int = 10) -> tuple[int, int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT setting::int FROM pg_settings WHERE name = 'max_connections'")
        maximum = cursor.fetchone()[0]
        cursor.execute("SELECT setting::int FROM pg_settings WHERE name = 'superuser_reserved_connections'")
        reserved = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
        used = cursor.fetchone()[0]
    return maximum, used, max(1, maximum - reserved - used - margin)


def race(room, start, donors, pool: int) -> tuple[Counter, float]:
    """Everyone POSTs the same room and start at once; at most `pool` hold a connection."""
    from django.db import connection
    from rest_framework.test import APIClient

    from clinic.accounts.models import AccessToken as Token

    clients = []
    for donor in donors:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=donor).key}")
        clients.append(client)
    barrier = threading.Barrier(len(clients))
    gate = threading.BoundedSemaphore(pool)
    answers: list = [None] * len(clients)

    def run(i, client):
        barrier.wait()
        with gate:
            try:
                response = client.post("/api/bookings/", {"room": room.pk, "start": start.isoformat()}, format="json")
                code = response.json().get("code", "") if response.status_code >= 400 else ""
                answers[i] = f"{response.status_code} {code}".strip()
            except Exception as exc:
                answers[i] = f"exception {type(exc).__name__}"
            finally:
                connection.close()

    workers = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
    t0 = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return Counter(answers), time.perf_counter() - t0


def p95(ms: Sequence[float]) -> float:
    return statistics.quantiles(ms, n=20)[18] if len(ms) > 1 else ms[0]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--per-thread", type=int, default=SLOTS_PER_DAY, help=f"bookings per thread (≤ {SLOTS_PER_DAY})"
    )
    parser.add_argument("--attempts", type=int, default=100, help="simultaneous attempts on one slot")
    args = parser.parse_args(argv)
    per_thread = min(args.per_thread, SLOTS_PER_DAY)

    url = setup_django()
    from django.conf import settings
    from django.utils import timezone

    from clinic.bookings.models import ACTIVE_STATUSES, Booking

    reset_data()
    rooms = make_rooms()
    runs = [("8 threads, arrival gap off", THREADS, 0), ("1 thread, arrival gap off", 1, 0)]
    runs.append(("8 threads, arrival gap 10 min", THREADS, 10))
    donors = make_donors("contention-", sum(t for _, t, _ in runs) * per_thread + args.attempts)
    today = timezone.localdate()
    print(f"database {url.rsplit('/', 1)[-1]}; {len(rooms)} rooms; {per_thread} bookings per thread\n")
    print(f"{'run':<32} {'bookings':>8} {'per second':>11} {'median':>9} {'p95':>9}  outcomes")
    used = 0
    for n, (label, threads, gap) in enumerate(runs):
        settings.ARRIVAL_GAP_MINUTES = gap
        mine = donors[used : used + threads * per_thread]
        used += threads * per_thread
        plans = plans_for(rooms, mine, threads, per_thread, today + timedelta(days=1 + 10 * n))
        wall, latencies, outcomes = book_many(plans, threads)
        print(
            f"{label:<32} {len(latencies):8d} {outcomes['ok'] / wall:9.1f}/s "
            f"{statistics.median(latencies):7.1f}ms {p95(latencies):7.1f}ms  {dict(outcomes)}"
        )
    settings.ARRIVAL_GAP_MINUTES = 0

    maximum, in_use, pool = free_connections()
    pool = min(pool, args.attempts)
    start = slot_start(today + timedelta(days=40), 4)
    answers, wall = race(rooms[-1], start, donors[used : used + args.attempts], pool)
    rows = Booking.objects.filter(room=rooms[-1], start=start, status__in=ACTIVE_STATUSES).count()
    print(
        f"\n{args.attempts} simultaneous POST /api/bookings/ on one room and slot (at most {pool} on a connection at "
        f"once; server max_connections {maximum}, {in_use} in use before): {wall * 1000:.0f} ms in all"
    )
    for answer, count in answers.most_common():
        print(f"  {answer:<24} {count:4d}")
    errors = sum(c for a, c in answers.items() if not a.startswith(("201", "409 slot_taken")))
    print(f"  successes {answers.get('201', 0)}, 409 slot_taken {answers.get('409 slot_taken', 0)}, other {errors};")
    print(f"  active bookings of that room and slot in the database: {rows}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
