"""clinic.admission: at most N HTTP requests of a web process run at once, the rest in order;
WebSockets are never held back. Against the real server: tests/realtime (sockets) and
deploy/prod_check.py (the production stack)."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync

from clinic.admission import ActiveRequestLimit


class Recorder:
    """An ASGI app that notes how many calls run at once and the order they started in."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.started: list[int] = []

    async def __call__(self, scope, receive, send) -> None:
        self.running += 1
        self.most = max(self.most, self.running)
        self.started.append(scope["n"])
        try:
            await asyncio.sleep(0.01)
            if scope.get("fail"):
                raise RuntimeError("the view broke")
            await send({"type": "http.response.start", "status": 200})
        finally:
            self.running -= 1


def run_calls(app, scopes: list[dict]) -> tuple[list[dict], list[BaseException | None]]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    async def calls():
        results = []
        tasks = []
        for scope in scopes:
            tasks.append(asyncio.ensure_future(app(scope, receive, send)))
            await asyncio.sleep(0)  # they arrive in this order
        for task in tasks:
            try:
                await task
                results.append(None)
            except RuntimeError as exc:
                results.append(exc)
        return results

    return sent, async_to_sync(calls)()


def test_at_most_the_limit_run_at_once_and_the_rest_in_arrival_order():
    inner = Recorder()
    sent, errors = run_calls(ActiveRequestLimit(inner, 2), [{"type": "http", "n": n} for n in range(7)])
    assert inner.most == 2
    assert inner.started == list(range(7))
    assert len(sent) == 7 and errors == [None] * 7


def test_a_request_that_fails_gives_its_turn_back():
    inner = Recorder()
    scopes = [{"type": "http", "n": n, "fail": n % 2 == 0} for n in range(5)]
    sent, errors = run_calls(ActiveRequestLimit(inner, 1), scopes)
    assert [e is not None for e in errors] == [True, False, True, False, True]
    assert inner.started == list(range(5)) and inner.most == 1
    assert len(sent) == 2


def test_each_event_loop_has_its_own_turns():
    """A limit made before the loop that uses it (a process's app, tests' loops one after
    another) works in each."""
    inner = Recorder()
    limit = ActiveRequestLimit(inner, 1)
    for _ in range(2):
        run_calls(limit, [{"type": "http", "n": n} for n in range(3)])
    assert inner.most == 1 and inner.started == [0, 1, 2, 0, 1, 2]


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError):
        ActiveRequestLimit(Recorder(), 0)


def test_the_platform_bounds_http_and_not_websockets(settings):
    from clinic.asgi import application

    http = application.application_mapping["http"]
    assert isinstance(http, ActiveRequestLimit) and http.limit == settings.WEB_ACTIVE_REQUESTS
    assert not isinstance(application.application_mapping["websocket"], ActiveRequestLimit)
