"""The PostgreSQL connection pool after every idle connection died (a database restart, a proxy
dropping idle sessions): the next requests get live connections at once, none fails."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections

pytestmark = pytest.mark.skipif(
    not settings.DATABASES["default"].get("OPTIONS", {}).get("pool"),
    reason="the connection pool is PostgreSQL's, and on by default there",
)


def in_thread(work):
    """Run work() in a thread of its own (its own pooled connection), return (result or error, seconds)."""
    out = {}

    def run():
        started = time.monotonic()
        try:
            out["result"] = work()
        except Exception as exc:
            out["result"] = exc
        finally:
            out["seconds"] = time.monotonic() - started
            connections.close_all()  # back to the pool

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return out["result"], out["seconds"]


def query() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0]


def test_dead_idle_connections_are_replaced_without_failing_or_stalling_a_request(db):
    # Several connections in the pool, all idle.
    barrier = threading.Barrier(4)

    def hold():
        query()
        barrier.wait(10)
        return 1

    threads = [threading.Thread(target=in_thread, args=(hold,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert connection.pool.get_stats()["pool_available"] >= 2

    db_settings = connection.settings_dict
    with psycopg.connect(
        host=db_settings["HOST"] or "127.0.0.1",
        port=db_settings["PORT"] or 5432,
        user=db_settings["USER"],
        dbname=db_settings["NAME"],
        autocommit=True,
    ) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND state = 'idle' AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    assert killed >= 2

    for _ in range(6):
        result, seconds = in_thread(query)
        assert result == 1, result
        assert seconds < 0.5, seconds
