"""The ASGI application with database faults on demand, for a live test server:
`uvicorn tests.faults.dbkill_app:application` with FAULT_DIR set.

A request that reaches a fault point whose file exists in FAULT_DIR (the test creates it) removes
the file and has its own PostgreSQL backend terminated from another connection
(pg_terminate_backend), then carries on: its next statement finds the connection gone.

Fault points:
  after_insert    the booking row is inserted, its process not started (inside the transaction)
  after_process   the process and its review tasks exist (inside the transaction)
  before_answer   request_booking has returned; the view still builds its answer
  after_review    a review's decision is written on the booking, the task not yet done
  before_review_answer  complete_review has returned; the view still builds its answer
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

from clinic.asgi import application  # noqa: F401  (sets Django up)

FAULT_DIR = Path(os.environ["FAULT_DIR"])


def terminate_own_backend() -> None:
    import psycopg
    from django.db import connection

    pid = connection.connection.info.backend_pid
    db = connection.settings_dict
    params = {
        "host": db.get("HOST") or "127.0.0.1",
        "port": db.get("PORT") or 5432,
        "user": db["USER"],
        "dbname": db["NAME"],
        "autocommit": True,
    }
    if db.get("PASSWORD"):
        params["password"] = db["PASSWORD"]
    with psycopg.connect(**params) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 5
        while other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
            if time.monotonic() > deadline:
                raise RuntimeError(f"backend {pid} still alive")
            time.sleep(0.01)


def fault_point(name: str) -> None:
    trigger = FAULT_DIR / name
    try:
        trigger.unlink()
    except FileNotFoundError:
        return
    terminate_own_backend()


def after(name: str, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        result = function(*args, **kwargs)
        fault_point(name)
        return result

    return wrapper


def _install() -> None:
    from clinic.bookings import services as booking_services
    from workflows import bookings, reviews
    from workflows.flows import BookingFlow

    booking_services.create_booking = after("after_insert", booking_services.create_booking)
    BookingFlow.start.run = after("after_process", BookingFlow.start.run)
    bookings.request_booking = after("before_answer", bookings.request_booking)
    reviews.record_review_decision = after("after_review", reviews.record_review_decision)
    reviews.complete_review = after("before_review_answer", reviews.complete_review)


_install()
