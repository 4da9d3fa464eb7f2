"""Fixtures for the door tests: relay simulators (in-process and as a separate process), a live web
process, notification deliveries held in transactional tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.hardware.helpers import SimProcess

from .helpers import WebProcess


@pytest.fixture
def held_deliveries(monkeypatch) -> list[int]:
    """For transactional tests, where on_commit callbacks really run: notification deliveries are
    held off the broker (no worker here would take them). Returns the ids that would have gone.
    (tests/conftest.py puts the roles back before each transactional test.)"""
    from tests.workflows.helpers import hold_deliveries

    return hold_deliveries(monkeypatch)


@pytest.fixture
def sim_process(tmp_path: Path) -> Iterator[SimProcess]:
    """`python -m hardware.simulator` as its own process, logging to tmp_path/board.log."""
    board = SimProcess(tmp_path / "board.log")
    yield board
    board.stop()


@pytest.fixture
def web_process(tmp_path: Path) -> Iterator[Callable[..., WebProcess]]:
    started: list[WebProcess] = []

    def start(**env: str) -> WebProcess:
        web = WebProcess(tmp_path / f"web{len(started)}.log", **env)
        started.append(web)
        return web

    yield start
    for web in started:
        web.stop()
