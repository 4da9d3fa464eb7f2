"""Soak of the production stack: half an hour of bookings, approvals and door scans with 50
sockets held open, as deployed (gunicorn with 2 uvicorn workers, a Celery worker and beat,
PostgreSQL, Redis, the relay simulators; DEBUG off). Nothing is broken on purpose (that is
`make soak`).

Prints the traffic's figures (bench/load.py), then what a long run shows and a short one hides:
exceptions in any process's log, pushes lost (a held socket's user had a notification it never
received), sockets the server closed (none is reopened), and each process's memory at the start
and end with its slope per hour.

Run: .venv/bin/python bench/soak_prod.py [--seconds 1800] [--sockets 50]; `make soak-prod`.
Database clinic_load_soak_prod on the server of DATABASE_URL (dropped and recreated on every run).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_url = urlparse(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/clinic_load_soak_prod")
os.environ["DATABASE_URL"] = urlunparse(_url._replace(path="/clinic_load_soak_prod", query=""))

from bench import load  # noqa: E402  (reads DATABASE_URL at import)

PROBLEM = re.compile(r"Traceback|Exception|Error\b|ERROR|CRITICAL")


def main(argv: Sequence[str] | None = None) -> int:
    p = load.parser(__doc__.splitlines()[0])
    p.set_defaults(seconds=1800.0, scan_rate=1.0, think=20.0)
    p.add_argument("--sockets", type=int, default=50, help="donors' sockets held open through the run")
    args = p.parse_args(argv)
    config = load.config_from(
        args, beat=True, sweep_interval_s=10, drain_s=60.0, idle_sockets=args.sockets, rss_every_s=60.0
    )
    last = [-1]

    def progress(elapsed: float, events: dict) -> None:
        if int(elapsed // 300) != last[0]:
            last[0] = int(elapsed // 300)
            print(f"  t={elapsed:5.0f} s", flush=True)

    figures = load.run(config, on_tick=progress)
    report(figures)
    return 0


def report(figures: dict) -> None:
    from clinic.accounts.models import AccessToken as Token
    from clinic.notifications.models import Notification

    print()
    for name, text in figures["logs"].items():
        problems = [line for line in text.splitlines() if PROBLEM.search(line)]
        print(
            f"{name} log: {len(problems)} line(s) with an exception or error"
            + (f", e.g. {problems[0]!r}" if problems else "")
        )

    held = figures.get("held")
    if held is not None:
        users = dict(Token.objects.filter(key__in=list(held.received)).values_list("key", "user_id"))
        lost = expected = 0
        for token, got in held.received.items():
            ids = set(
                Notification.objects.filter(
                    recipient_id=users[token], created__gte=figures["held_from"], delivered_at__isnull=False
                ).values_list("pk", flat=True)
            )
            expected += len(ids)
            lost += len(ids - set(got))
        print(
            f"held sockets: {len(held.received)}; closed by the server: {len(held.closed)}; "
            f"pushes expected {expected}, received {expected - lost}, lost {lost}"
        )

    rss = figures["rss"]
    (t0, first), (t1, last) = rss[0], rss[-1]
    hours = max((t1 - t0) / 3600, 1e-9)
    print(f"memory (RSS, MiB, process and its children), {len(rss)} samples over {(t1 - t0) / 60:.0f} min:")
    for name in first:
        slope = (last[name] - first[name]) / hours
        print(f"  {name:<14} start {first[name]:7.1f}  end {last[name]:7.1f}  slope {slope:+7.1f} MiB/h")


if __name__ == "__main__":
    sys.exit(main())
