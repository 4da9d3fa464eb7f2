"""Helpers of the fault tests: Celery workers with the pool of one's choice, waiting for a
condition, and a listener on channel-layer groups that survives Redis going away."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.realtime.support import Process, celery_worker


def start_worker(tmp_path: Path, env: dict[str, str], *, pool: str = "solo", concurrency: int = 1) -> Process:
    """A real Celery worker with the pool of one's choice; returns once it is ready."""
    return celery_worker(tmp_path, env, pool=pool, concurrency=concurrency, name="faults")


def wait_until(condition: Callable[[], Any], timeout: float, message: str | Callable[[], str] = "") -> None:
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            pytest.fail((message() if callable(message) else message) or f"not so after {timeout:.0f} s")
        time.sleep(0.05)


class GroupListener:
    """Receives what is pushed to some users' groups on a Redis channel layer (the workers'
    prefix), from a thread of its own. Redis going away and coming back empty is survived: the
    listener joins its groups again."""

    def __init__(self, redis_url: str, groups: list[str]) -> None:
        self.redis_url, self.groups = redis_url, groups
        self.received: list[dict] = []
        self.errors = 0
        self.joins = 0  # times the listener joined its groups (again after Redis came back)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> GroupListener:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the group listener did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def ids(self) -> list[int]:
        return [message["id"] for message in list(self.received)]

    async def _run(self) -> None:
        from channels_redis.core import RedisChannelLayer

        layer = RedisChannelLayer(hosts=[self.redis_url])
        channel = await layer.new_channel()
        joined = False
        while not self._stop.is_set():
            try:
                if not joined:
                    for group in self.groups:
                        await layer.group_add(group, channel)
                    joined = True
                    self.joins += 1
                    self._ready.set()
                message = await asyncio.wait_for(layer.receive(channel), timeout=0.2)
            except TimeoutError:
                continue
            except Exception:
                # Redis is away: join again once it is back (a restarted Redis is empty).
                self.errors += 1
                joined = False
                await asyncio.sleep(0.2)
                continue
            if message.get("type") == "notification.push":
                self.received.append(message["notification"])
        try:
            await layer.close_pools()
        except Exception:
            pass
