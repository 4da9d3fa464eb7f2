"""Soak: the load of bench/load.py for minutes, with Redis (broker and channel layer) down 30 s.

The same platform and traffic as bench/load.py (gunicorn with 2 uvicorn workers, a Celery worker,
relay simulators, PostgreSQL), at a load this 2-core machine carries (200 donors thinking 20 s on
average, 4 door scans per second) so that what the outage does is not drowned in queueing; plus a
Celery beat sending the periodic sweep every 10 s and an SMS backend that records every message
sent (tests/faults/sms.py). After --outage-at seconds the
private redis-server is stopped, and started again (empty, as after a crash) --outage seconds
later; the traffic goes on throughout.

Prints, before / during / after the outage: requests per second, p50/p95/p99 per endpoint and the
answers by status; then whether anything was lost or doubled: notifications left undelivered when
Redis came back and how long the sweep took to deliver them, SMS sent per notification that has
one (exactly once each), whether the web processes publish to Redis again once it is back (new
notifications delivered by their task within seconds, not by the sweep), overlapping bookings and
bookings without their process. Asserts nothing.

Run: .venv/bin/python bench/soak.py [--seconds 240] [--outage-at 60] [--outage 30]
Database clinic_load_soak on the server of DATABASE_URL (dropped and recreated on every run).
`make soak` runs this and tests/faults/test_redis_down.py with 30 s of downtime.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_url = urlparse(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/clinic_load_soak")
os.environ["DATABASE_URL"] = urlunparse(_url._replace(path="/clinic_load_soak", query=""))

from bench import load  # noqa: E402  (reads DATABASE_URL at import)

SLOW_S = 1.5


def main(argv: Sequence[str] | None = None) -> int:
    p = load.parser(__doc__.splitlines()[0])
    p.set_defaults(seconds=240.0, scan_rate=4.0, think=20.0)
    p.add_argument("--outage-at", type=float, default=60.0, help="seconds into the run when Redis stops")
    p.add_argument("--outage", type=float, default=30.0, help="seconds Redis stays down")
    args = p.parse_args(argv)
    config = load.config_from(
        args,
        outage_at=args.outage_at,
        outage_s=args.outage,
        beat=True,
        sweep_interval_s=10,
        record_sms=True,
        drain_s=60.0,
    )
    last_minute = [-1]

    def progress(elapsed: float, events: dict) -> None:
        if int(elapsed // 30) != last_minute[0]:
            last_minute[0] = int(elapsed // 30)
            state = "Redis down" if "down" in events and "up" not in events else "Redis up"
            print(f"  t={elapsed:5.0f} s  {state}", flush=True)

    figures = load.run(config, on_tick=progress)
    report(figures, config)
    return 0


def report(figures: dict, config: load.Config) -> None:
    from clinic.notifications.models import Notification
    from clinic.notifications.texts import TEXTS
    from tests.faults.sms import sent

    samples: list[load.Sample] = figures["samples"]
    events = figures["events"]
    down, up = events.get("down"), events.get("up")
    if down is None or up is None:
        print("\nthe outage did not happen within the run: make --seconds longer than --outage-at + --outage")
        return
    end = max(s.at + s.latency for s in samples)
    phases = [("before the outage", 0.0, down), ("Redis down", down, up), ("after Redis is back", up, end)]
    print()
    for name, start, stop in phases:
        part = [s for s in samples if start <= s.at < stop]
        if not part:
            continue
        for line in load.latency_table(part, stop - start, f"{name}: {stop - start:.0f} s, {len(part)} requests"):
            print(line)
        bad = Counter((s.status, s.code) for s in part if s.status >= 500 or s.status == 0)
        slow = sum(
            s.latency >= SLOW_S for s in part if s.endpoint in ("POST /api/bookings/", "POST /api/tasks/{id}/approve/")
        )
        print(f"5xx or no answer: {sum(bad.values())} {dict(bad) or ''}; bookings/approvals ≥ {SLOW_S} s: {slow}")
        print()

    started = figures["started_wall"]
    down_at = datetime.fromtimestamp(started + down, tz=UTC)
    up_at = datetime.fromtimestamp(started + up, tz=UTC)
    rows = Notification.objects.all()
    created_down = rows.filter(created__gte=down_at, created__lt=up_at)
    print(
        f"notifications: {rows.count()} in all; {created_down.count()} created while Redis was down; "
        f"{figures['undelivered_at_end']} undelivered when the traffic stopped, {figures['undelivered']} after "
        f"{figures['drained_s']:.0f} s more (beat sweeps every {config.sweep_interval_s} s)"
    )
    waited = [(n.delivered_at - n.created).total_seconds() for n in created_down if n.delivered_at]
    if waited:
        print(
            f"  those created during the outage were delivered {min(waited):.1f}–{max(waited):.1f} s after "
            f"(median {statistics.median(waited):.1f} s) by the sweep"
        )

    # Do the web processes publish again once Redis is back? Past their back-off (10 s), new
    # notifications are delivered by their own task, as fast as before the outage; left to the
    # sweep they would wait about half a sweep interval or more.
    def delays(qs) -> list[float]:
        return sorted((n.delivered_at - n.created).total_seconds() for n in qs if n.delivered_at)

    before = delays(rows.filter(created__lt=down_at))
    after = delays(rows.filter(created__gte=up_at + timedelta(seconds=20)))
    for label, values in (("before the outage", before), ("from 20 s after Redis was back", after)):
        if values:
            print(
                f"  delivery delay of notifications created {label}: median {statistics.median(values):.2f} s, "
                f"p90 {load.pct(values, 90):.2f} s, max {values[-1]:.2f} s (n={len(values)})"
            )
    outward = set(rows.filter(kind__in=[k for k, t in TEXTS.items() if t.outward]).values_list("pk", flat=True))
    sms = Counter(sent(figures["tmp"] / "sms.log"))
    doubled = sum(1 for n in sms.values() if n > 1)
    missing = len(outward - set(sms))
    print(
        f"SMS: {sum(sms.values())} sent for {len(outward)} notifications that have one; "
        f"sent twice or more: {doubled}; never sent: {missing}; sent for a notification without one: "
        f"{len(set(sms) - outward)}"
    )
    print(
        f"overlapping active bookings: {figures['overlaps']}; "
        + "; ".join(f"{k}: {v}" for k, v in figures["half_written"].items())
    )


if __name__ == "__main__":
    sys.exit(main())
