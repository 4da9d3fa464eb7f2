"""Door-scan latency through the whole stack: POST /api/scan/ on a live uvicorn worker until the relay's coil is ON.

Run: .venv/bin/python bench/scan.py [-n 200] [--rounds 15] [--concurrency 20]

The relay simulators run in THIS process, so their coil-ON events (time.monotonic()) and the
client's send time share one clock; uvicorn (1 worker, a subprocess) reaches them over TCP.
Each measured scan is a full first scan of a freshly approved booking (reviews done through the
booking process), so the measured path is the real one: auth, booking lookup, time window and
opening hours, process lock, board lock on the relay module, Modbus flash write + read-back,
check_in step, audit. Bookings are re-armed (finished, then a new approved one) between scans.

Beside it, in the same run: a raw pymodbus FC05 flash write and an empty authenticated request
(GET /api/me/). Prints a table and the overhead ratios; asserts nothing.

Database: the server and credentials of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/clinic_bench_scan). The database is dropped, recreated and
migrated on every run, so only a database named clinic_bench* is ever used: any other name
(e.g. `make bench` passes the test database) is replaced by clinic_bench_scan on the same server.
Broker: BENCH_BROKER_URL (default redis://127.0.0.1:6379/13), emptied before and after.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
# Runnable as a plain script from the project root, without installing anything.
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/clinic_bench_scan"
RELAYS_PER_BOARD = 8
# Longer than any write -> read-back gap under load: a read-back after the pulse has ended is
# "outcome unknown" to the adapter (a 503), which would measure the bench, not the scan.
PULSE_MS = 1000
# 30-minute slots all day, like the demo rooms. The check-in window is widened (for this run's
# processes only) so that a booking armed for the running slot can be scanned at any moment of it.
SLOT_MINUTES = 30
LAST_SLOT_START = "23:00"  # the last slot ends at 23:30
TARGET_MS = 10.0


def bench_database_url() -> str:
    url = urlparse(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    if url.scheme not in {"postgres", "postgresql"}:
        sys.exit(f"bench/scan.py needs PostgreSQL (DATABASE_URL={urlunparse(url)})")
    name = url.path.lstrip("/")
    if not name.startswith("clinic_bench"):
        print(f"note: not resetting database {name!r}; using clinic_bench_scan on the same server")
        url = url._replace(path="/clinic_bench_scan")
    return urlunparse(url)


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


DATABASE_URL = bench_database_url()
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["DJANGO_SETTINGS_MODULE"] = "clinic.settings"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["EARLY_CHECK_IN_MINUTES"] = str(SLOT_MINUTES)
os.environ["CHECK_IN_GRACE_MINUTES"] = str(SLOT_MINUTES + 5)
# No worker runs here: the deliveries the bookings hand to the workers go to a broker database
# of the bench's own (BENCH_BROKER_URL), emptied before and after, never to the queue a
# `make run` worker reads (some 5,000 messages a run).
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
os.environ["CELERY_BROKER_URL"] = BROKER_URL


def empty_broker() -> None:
    # Imported here, once the environment above is set (bench.approvals only fills in what is unset).
    from bench.approvals import empty_broker as flush

    if not flush(BROKER_URL):
        print(f"note: broker {BROKER_URL} not emptied (Redis not there)")


# --- statistics ---------------------------------------------------------------------------


def ms(seconds: Sequence[float]) -> list[float]:
    return [s * 1000 for s in seconds]


def p99(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else values[0]


def row(label: str, seconds: Sequence[float]) -> str:
    v = ms(seconds)
    return f"{label:<56} {len(v):>5} {statistics.median(v):9.3f} {p99(v):9.3f} {max(v):9.3f}"


# --- HTTP -----------------------------------------------------------------------------------


class Api:
    """One keep-alive HTTP/1.1 connection to the web process, authenticated by token."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.port = port
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Token {token}"
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        payload = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, path, body=payload, headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else {}

    def close(self) -> None:
        self.conn.close()


def start_web(port: int, log_path: Path) -> subprocess.Popen:
    env = os.environ | {
        "DATABASE_URL": DATABASE_URL,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-not-secret-0123456789abcdef0123456789",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "clinic.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
        "--no-access-log",
        "--timeout-keep-alive",
        "120",
    ]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"uvicorn exited ({proc.returncode}):\n{log_path.read_text()}")
        try:
            api = Api(port)
            status, _ = api.call("GET", "/api/me/")
            api.close()
            if status == 401:
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"uvicorn did not answer:\n{log_path.read_text()}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): load-independent cost per request."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- data (Django, bench process) -------------------------------------------------------------


def current_slot() -> datetime:
    """Start of the running slot of the all-day opening (00:00 to LAST_SLOT_START + one slot); in
    the last slot-length of the day, the next day's first slot (within EARLY_CHECK_IN_MINUTES)."""
    from django.utils import timezone

    now = timezone.localtime()
    start = now.replace(minute=now.minute - now.minute % SLOT_MINUTES, second=0, microsecond=0)
    if f"{start:%H:%M}" > LAST_SLOT_START:
        start = timezone.localtime(start + timedelta(minutes=SLOT_MINUTES))
    return start


class Scanner:
    """One donor, one room (one relay channel), one keep-alive connection."""

    def __init__(self, index: int, room, donor, token: str, board, coil: int) -> None:
        self.index, self.room, self.donor, self.token = index, room, donor, token
        self.board, self.coil = board, coil
        self.booking = None
        self.api: Api | None = None

    def connect(self, port: int) -> None:
        self.api = Api(port, self.token)

    def scan(self) -> tuple[float, float, int]:
        """(send time, response time, status), monotonic."""
        assert self.api is not None
        t0 = time.monotonic()
        status, body = self.api.call("POST", "/api/scan/", {"door": self.room.door_token})
        t1 = time.monotonic()
        if status != 200 or body.get("action") != "unlocked":
            raise RuntimeError(f"scan {self.index}: {status} {body}")
        return t0, t1, status

    def coil_on_after(self, t0: float) -> float:
        for event in self.board.history:
            if event.relay == self.coil and event.on and event.cause == "flash" and event.monotonic >= t0:
                return event.monotonic
        raise RuntimeError(f"scan {self.index}: no coil-ON event on relay {self.coil} after the request")


class Clinic:
    """Rooms on the in-process boards, their donors, a reviewer of each kind; re-arms bookings."""

    def __init__(self, boards: list, count: int) -> None:
        from django.contrib.auth.models import Group

        from clinic.accounts.models import AccessToken as Token
        from clinic.accounts.models import DonorProfile, User
        from clinic.rooms.models import Opening, RelayModule, Room

        def user(username: str, group: str, *, staff: bool) -> User:
            u = User.objects.create_user(username=username, password=None, phone="13800000000", is_staff=staff)
            u.groups.add(Group.objects.get(name=group))
            return u

        self.staff = user("bench-staff", "staff", staff=True)
        self.room_manager = user("bench-rooms", "room_manager", staff=True)
        modules = [RelayModule.objects.create(host="127.0.0.1", port=b.port, unit=1) for b in boards]
        self.scanners: list[Scanner] = []
        for i in range(count):
            board_no, coil = divmod(i, RELAYS_PER_BOARD)
            room = Room.objects.create(name=f"Bench {i:02d}", relay=modules[board_no], coil=coil, pulse_ms=PULSE_MS)
            Opening.objects.create(
                room=room,
                weekdays=list(range(7)),
                start_time=datetime.strptime("00:00", "%H:%M").time(),
                end_time=(datetime.strptime(LAST_SLOT_START, "%H:%M") + timedelta(minutes=SLOT_MINUTES)).time(),
                slot_minutes=SLOT_MINUTES,
            )
            donor = user(f"bench-donor-{i:02d}", "donor", staff=False)
            DonorProfile.objects.create(user=donor, real_name=f"Bench {i}", purpose="donation")
            token = Token.objects.create(user=donor).key
            self.scanners.append(Scanner(i, room, donor, token, boards[board_no], coil))

    def arm(self, scanner: Scanner) -> None:
        """Finish the scanner's last booking (second scan path) and give it a new approved one for now."""
        from viewflow.workflow.models import Task
        from viewflow.workflow.status import STATUS

        from clinic.bookings.models import Booking
        from workflows import reviews, sessions
        from workflows.flows import BookingFlow

        if scanner.booking is not None:
            scanner.booking.refresh_from_db()
            if scanner.booking.status == "in_progress":
                sessions.check_out(booking=scanner.booking, actor=scanner.donor)
        start = current_slot()
        booking = Booking.objects.create(
            donor=scanner.donor, room=scanner.room, start=start, end=start + timedelta(minutes=SLOT_MINUTES)
        )
        BookingFlow.start.run(booking=booking)
        for name, reviewer in (("staff_review", self.staff), ("room_review", self.room_manager)):
            task = Task.objects.get(
                process__bookingprocess__booking=booking, flow_task=getattr(BookingFlow, name), status=STATUS.NEW
            )
            reviews.complete_review(task_id=task.pk, user=reviewer, decision="approved")
        booking.refresh_from_db()
        assert booking.status == "approved", booking.status
        scanner.booking = booking


# --- measurements ---------------------------------------------------------------------------------


def timed(n: int, step: Callable[[int], object]) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        step(i)
        out.append(time.perf_counter() - t0)
    return out


def raw_flash_writes(port: int, n: int) -> tuple[list[float], list[float]]:
    from pymodbus.client import ModbusTcpClient

    from hardware.protocol import FLASH_ON_BASE, RawWriteSingleCoil, flash_units

    def flash(i: int) -> RawWriteSingleCoil:
        return RawWriteSingleCoil(FLASH_ON_BASE + i % RELAYS_PER_BOARD, flash_units(PULSE_MS), dev_id=1)

    client = ModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
    client.register(RawWriteSingleCoil)
    client.connect()
    timed(20, lambda i: client.execute(False, flash(i)))  # warm-up
    persistent = timed(n, lambda i: client.execute(False, flash(i)))
    client.close()

    def connect_write(i: int) -> None:
        c = ModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
        c.register(RawWriteSingleCoil)
        try:
            c.connect()
            c.execute(False, flash(i))
        finally:
            c.close()

    return persistent, timed(n, connect_write)


def adapter_unlocks(port: int, n: int) -> list[float]:
    from hardware.relays import ModbusRelayLock, RelayTarget

    lock = ModbusRelayLock()
    targets = [RelayTarget("127.0.0.1", port, coil=c, pulse_ms=PULSE_MS) for c in range(RELAYS_PER_BOARD)]
    return timed(n, lambda i: lock.unlock(targets[i % RELAYS_PER_BOARD]))


def scans_in_rounds(clinic: Clinic, scanners: list[Scanner], rounds: int) -> tuple[list[float], list[float]]:
    """`rounds` times: re-arm every scanner's booking (untimed), then all scan at once.
    Returns (send -> coil ON, send -> response) for every scan."""
    to_on: list[float] = []
    to_response: list[float] = []
    for _ in range(rounds):
        for scanner in scanners:
            clinic.arm(scanner)
        barrier = threading.Barrier(len(scanners))
        results: list[tuple[float, float, int] | BaseException | None] = [None] * len(scanners)

        def run(k: int, scanner: Scanner, barrier: threading.Barrier = barrier, results: list = results) -> None:
            try:
                barrier.wait(timeout=10)
                results[k] = scanner.scan()
            except BaseException as exc:
                results[k] = exc

        threads = [threading.Thread(target=run, args=(k, s)) for k, s in enumerate(scanners)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for scanner, result in zip(scanners, results, strict=True):
            if not isinstance(result, tuple):
                raise RuntimeError(f"scanner {scanner.index} failed: {result!r}")
            t0, t1, _ = result
            to_on.append(scanner.coil_on_after(t0) - t0)
            to_response.append(t1 - t0)
    return to_on, to_response


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="samples for the single-scanner and reference rows")
    parser.add_argument("--rounds", type=int, default=15, help="rounds of the concurrent measurement")
    parser.add_argument("--concurrency", type=int, default=20, help="concurrent scanners (one room/donor each)")
    args = parser.parse_args(argv)

    started = time.monotonic()
    recreate_database(DATABASE_URL)
    empty_broker()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    print(f"database {connection.settings_dict['NAME']} recreated and migrated in {time.monotonic() - started:.1f} s")

    from hardware.simulator import RelaySimulator

    boards = [RelaySimulator().start() for _ in range(math.ceil(args.concurrency / RELAYS_PER_BOARD))]
    clinic = Clinic(boards, args.concurrency)
    port = free_port()
    web_log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-scan-uvicorn-{port}.log"
    web = start_web(port, web_log)
    try:
        for scanner in clinic.scanners:
            scanner.connect(port)
        print(
            f"uvicorn 1 worker on 127.0.0.1:{port} (log {web_log}); {len(boards)} simulated boards in-process; "
            f"{args.concurrency} rooms/donors; pulse {PULSE_MS} ms; cpus {os.cpu_count()}; "
            f"load average {os.getloadavg()[0]:.1f}"
        )

        # Warm-up: imports, URL resolver, first DB connections, Modbus paths.
        me = Api(port, clinic.scanners[0].token)
        for _ in range(20):
            assert me.call("GET", "/api/me/")[0] == 200
        scanners1 = clinic.scanners[:1]
        scans_in_rounds(clinic, scanners1, 5)
        scans_in_rounds(clinic, clinic.scanners, 1)

        raw_persistent, raw_connect = raw_flash_writes(boards[0].port, args.n)
        adapter = adapter_unlocks(boards[0].port, args.n)
        cpu0 = cpu_seconds(web.pid)
        empty = timed(args.n, lambda i: me.call("GET", "/api/me/"))
        cpu_empty = (cpu_seconds(web.pid) - cpu0) / args.n
        me.close()
        cpu0 = cpu_seconds(web.pid)
        one_on, one_resp = scans_in_rounds(clinic, scanners1, args.n)
        cpu_scan = (cpu_seconds(web.pid) - cpu0) / args.n
        many_on, many_resp = scans_in_rounds(clinic, clinic.scanners, args.rounds)
    finally:
        for scanner in clinic.scanners:
            if scanner.api:
                scanner.api.close()
        web.terminate()
        try:
            web.wait(timeout=10)
        except subprocess.TimeoutExpired:
            web.kill()
        for board in boards:
            board.stop()
        empty_broker()

    c = args.concurrency
    rows = [
        ("raw pymodbus FC05 flash write, persistent connection", raw_persistent),
        ("raw pymodbus FC05 flash write, connect per command", raw_connect),
        ("ModbusRelayLock.unlock (connect, write, read-back)", adapter),
        ("GET /api/me/ (empty authenticated request)", empty),
        ("POST /api/scan/ -> coil ON, 1 scanner", one_on),
        ("POST /api/scan/ -> 200 response, 1 scanner", one_resp),
        (f"POST /api/scan/ -> coil ON, {c} concurrent scanners", many_on),
        (f"POST /api/scan/ -> 200 response, {c} concurrent scanners", many_resp),
    ]
    print()
    print(f"{'latency (ms)':<56} {'n':>5} {'median':>9} {'p99':>9} {'max':>9}")
    for label, values in rows:
        print(row(label, values))
    print()
    scan1 = statistics.median(one_on)
    for label, values in (
        ("raw write median (persistent connection)", raw_persistent),
        ("raw write median (connect per command)", raw_connect),
        ("GET /api/me/ median", empty),
    ):
        print(f"overhead: scan->coil ON median (1 scanner) / {label:<42} = {scan1 / statistics.median(values):7.1f}x")
    print(
        f"web process CPU per request (load-independent floor): GET /api/me/ {cpu_empty * 1000:.1f} ms, "
        f"POST /api/scan/ {cpu_scan * 1000:.1f} ms (+ PostgreSQL backend time, not counted)"
    )
    for label, values in (("1 scanner", one_on), (f"{c} concurrent", many_on)):
        median = statistics.median(values) * 1000
        verdict = "meets" if median <= TARGET_MS else "MISSES"
        print(f"target: scan->coil ON median <= {TARGET_MS:.0f} ms, {label}: {median:.2f} ms ({verdict})")
    print(f"load average {os.getloadavg()[0]:.1f}; total run time {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
