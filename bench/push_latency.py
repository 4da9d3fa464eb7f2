"""Push latency: from the approving request's response to the donor's socket receiving
booking.approved, over N approvals.

Real processes throughout: a live uvicorn server (HTTP and WebSocket), one Celery worker (solo
pool), a private redis-server (broker and channel layer) and PostgreSQL. For each of N pending
bookings the donor opens his socket (token, no Origin, as the app does), staff approve the staff
review, then the room manager approves the room review: that second approval completes the
process and its response is time zero; a reader thread stamps each message as it arrives.

Every donor's socket is opened first and left idle (--idle, 30 s by default: well past the
channel layer's 5 s blocking read), then the approvals run on those same sockets, as on phones
left waiting for their answer. A socket the server closed meanwhile is counted, not reopened.

Run: .venv/bin/python bench/push_latency.py [-n 200] [--idle 30]
PUSH_BENCH_DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/clinic_bench_push (created
if missing, migrated, emptied at each run). Prints figures; exits 1 only when the run breaks.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a plain script from anywhere

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/clinic_bench_push"
ROOMS = 10
TARGET_P95_MS = 250.0
os.environ["DATABASE_URL"] = os.environ.get("PUSH_BENCH_DATABASE_URL", DEFAULT_DB)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def ensure_database(url: str) -> None:
    from urllib.parse import urlparse

    import psycopg
    from psycopg import sql

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True, connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def reset_data() -> None:
    from django.core.management import call_command

    from tests.factories import restore_roles

    call_command("migrate", verbosity=0, interactive=False)
    call_command("flush", verbosity=0, interactive=False)
    restore_roles()


def make_world(n: int) -> tuple[dict[str, str], list[tuple[int, str]]]:
    """Staff, a room manager and n donors each with a pending booking: (reviewer tokens,
    [(booking id, donor token)]). Made without pushing anything (not what is measured)."""
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.utils import timezone

    from clinic.accounts.models import AccessToken as Token
    from clinic.accounts.models import DonorProfile, User
    from clinic.notifications import services
    from clinic.notifications.models import Notification
    from clinic.rooms.models import Opening, Room
    from workflows import bookings as booking_flow

    def user(username: str, role: str) -> User:
        made = User.objects.create_user(username=username, password=None, phone="13900000000")
        made.groups.add(Group.objects.get(name=role))
        return made

    rooms = [Room.objects.create(name=f"Room {i + 1}", coil=i % 8) for i in range(ROOMS)]
    for room in rooms:
        Opening.objects.create(
            room=room, weekdays=list(range(7)), start_time=timezone.datetime(2000, 1, 1, 8).time(),
            end_time=timezone.datetime(2000, 1, 1, 20).time(), slot_minutes=30,
        )  # fmt: skip
    tokens = {role: Token.objects.create(user=user(role, role)).key for role in ("staff", "room_manager")}
    first_day = timezone.localdate() + timedelta(days=1)
    tz = timezone.get_default_timezone()
    bookings = []
    enqueue, services.enqueue = services.enqueue, lambda ids, rooms=None: None
    try:
        with transaction.atomic():
            for i in range(n):
                donor = user(f"donor{i}", "donor")
                DonorProfile.objects.create(user=donor, real_name=f"Donor {i}")
                slot = i // ROOMS
                day = first_day + timedelta(days=slot // 24)
                start = timezone.datetime(day.year, day.month, day.day, 8, tzinfo=tz) + timedelta(
                    minutes=30 * (slot % 24)
                )
                booking = booking_flow.request_booking(
                    actor=donor, donor=donor, room_id=rooms[i % ROOMS].pk, start=start
                )
                bookings.append((booking.pk, Token.objects.create(user=donor).key))
            Notification.objects.update(delivered_at=timezone.now())
    finally:
        services.enqueue = enqueue
    return tokens, bookings


def task_id(booking_id: int, name: str) -> int:
    from viewflow.workflow.models import Task
    from viewflow.workflow.status import STATUS

    from workflows.flows import BookingFlow

    return Task.objects.get(
        process__bookingprocess__booking_id=booking_id, flow_task=getattr(BookingFlow, name), status=STATUS.NEW
    ).pk


class Reader(threading.Thread):
    """Stamps each message of a socket the moment it arrives."""

    def __init__(self, ws) -> None:
        super().__init__(daemon=True)
        self.ws, self.messages = ws, queue.Queue()
        self.closed_at: float | None = None

    def run(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            for raw in self.ws:
                self.messages.put((time.perf_counter(), json.loads(raw)))
        except ConnectionClosed:
            pass
        self.closed_at = time.perf_counter()

    def wait_for(self, kind: str, timeout: float = 10.0) -> tuple[float, dict]:
        deadline = time.perf_counter() + timeout
        while True:
            stamp, message = self.messages.get(timeout=max(deadline - time.perf_counter(), 0.001))
            if message["kind"] == kind:
                return stamp, message


def percentile(values: Sequence[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 2 else values[0]


def line(label: str, ms: Sequence[float]) -> str:
    return (
        f"{label:<44} median {statistics.median(ms):6.1f} ms   p95 {percentile(ms, 95):6.1f} ms   max {max(ms):6.1f} ms"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="approvals to measure (≤ 2400)")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds every socket idles before the approvals")
    args = parser.parse_args(argv)

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.db import connection
    from websockets.sync.client import connect

    from tests.realtime.support import Http, RedisServer, celery_worker, free_port, service_env, uvicorn_server

    tmp = Path(tempfile.mkdtemp(prefix="push-bench-"))
    redis = RedisServer(tmp).start()
    worker = server = None
    try:
        t0 = time.perf_counter()
        reset_data()
        tokens, bookings = make_world(args.n)
        env = {**service_env(os.environ["DATABASE_URL"], redis.url), "LOG_LEVEL": "WARNING"}
        worker = celery_worker(tmp, env)
        port = free_port()
        server = uvicorn_server(tmp, env, port)
        connection.close()  # the servers use the database from here on
        print(
            f"{connection.vendor} {connection.settings_dict['NAME']}, redis-server {redis.url}, 1 uvicorn, "
            f"1 Celery worker (solo); {len(bookings)} pending bookings; setup {time.perf_counter() - t0:.1f} s"
        )

        base = f"http://127.0.0.1:{port}"
        staff, room_manager = Http(base, tokens["staff"]), Http(base, tokens["room_manager"])
        push_ms, approve_ms, total_ms = [], [], []
        readers = {}
        with ExitStack() as sockets:
            for booking_id, donor_token in bookings:
                ws = sockets.enter_context(
                    connect(f"ws://127.0.0.1:{port}/ws/notifications/?token={donor_token}", open_timeout=5)
                )
                readers[booking_id] = Reader(ws)
                readers[booking_id].start()
            print(f"{len(readers)} sockets open; idling {args.idle:.0f} s")
            time.sleep(args.idle)
            for booking_id, _ in bookings:
                reader = readers[booking_id]
                if reader.closed_at is not None:
                    continue  # counted below
                status, body, _ = staff.post(f"/api/tasks/{task_id(booking_id, 'staff_review')}/approve/")
                assert status == 200, body
                reader.wait_for("booking.reviewed")
                room_task = task_id(booking_id, "room_review")
                began = time.perf_counter()
                status, body, _ = room_manager.post(f"/api/tasks/{room_task}/approve/")
                answered = time.perf_counter()
                assert status == 200 and body["booking"]["status"] == "approved", body
                arrived, message = reader.wait_for("booking.approved")
                assert message["booking"] == booking_id
                push_ms.append((arrived - answered) * 1000)
                approve_ms.append((answered - began) * 1000)
                total_ms.append((arrived - began) * 1000)
                connection.close()
            closed = sum(1 for reader in readers.values() if reader.closed_at is not None)
        print(f"sockets the server closed while they idled or waited: {closed} of {len(readers)}")
        server_errors = [w for w in ("Traceback", "TimeoutError", "ERROR") if w in server.log()]
        print(f"server log: {'errors: ' + ', '.join(server_errors) if server_errors else 'no error'}")
        print(line(f"approving request (send → response), n={len(approve_ms)}", approve_ms))
        print(line("push (response → socket receives)", push_ms))
        print(line("end to end (send → socket receives)", total_ms))
        early = sum(1 for ms in push_ms if ms < 0)
        if early:
            print(f"{early} push(es) arrived before the response was read (negative latency)")
        p95 = percentile(push_ms, 95)
        verdict = "met" if p95 <= TARGET_P95_MS else "MISSED"
        print(f"target p95 ≤ {TARGET_P95_MS:.0f} ms: {verdict} ({p95:.1f} ms)")
        return 0
    except Exception:
        for process in (worker, server, redis):
            if process is not None:
                print(f"--- {process.name} ---\n{process.log()[-3000:]}", file=sys.stderr)
        raise
    finally:
        for process in (server, worker, redis):
            if process is not None:
                process.stop()


if __name__ == "__main__":
    sys.exit(main())
