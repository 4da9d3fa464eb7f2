"""A bound on the HTTP requests a web process runs at once; the others wait their turn, in order.

Django's ASGI handler runs each request's synchronous part (middleware, view, database) in a
thread of its own, as many at once as arrive. On a small machine a burst (a clinic opening its
booking at nine, doors scanned at every change of slot) then shares the CPU among dozens of
requests and every one of them is slow; behind a bound, each runs at full speed and the rest
wait in the event loop, where waiting costs nothing. bench/load.py at its default load (2 cores,
2 web processes), four runs each, alternating, in one slow hour: the worst endpoint's p95 was
271, 277, 305 and 532 ms with WEB_ACTIVE_REQUESTS=4, against 357, 463, 725 and 1042 ms unbounded.

What waits: HTTP only (WebSockets never). A request that waits keeps its connection; one whose
client has gone by its turn is dropped by Django as soon as it starts. How long one request can
hold its turn is bounded by what it waits for: a relay command's deadline, the database's lock
timeout, the payment provider's timeout.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


class ActiveRequestLimit:
    """ASGI middleware: at most `limit` calls of `app` at once per event loop (a web process
    has one), the others admitted first come, first served."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.app = app
        self.limit = limit
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def _turn(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        turn = self._turns.get(loop)
        if turn is None:
            turn = self._turns[loop] = asyncio.Semaphore(self.limit)
        return turn

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async with self._turn():
            await self.app(scope, receive, send)
