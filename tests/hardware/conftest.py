"""Fixtures for the lock hardware tests: in-process and subprocess simulators, a board that never answers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .helpers import SimProcess


@pytest.fixture
def sim_process(tmp_path: Path) -> Iterator[Callable[[], SimProcess]]:
    started: list[SimProcess] = []

    def start() -> SimProcess:
        process = SimProcess(tmp_path / f"sim{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        # SIGTERM must give a clean exit and a final log line.
        assert process.stop() == 0
        assert process.lines()[-1].endswith(" stopped")


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP peer that accepts and reads but never answers, like a hung board; yields its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.05)
        conns = []
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                conn.setblocking(False)
                conns.append(conn)
            except TimeoutError:
                pass
            for conn in conns:
                try:
                    conn.recv(1024)
                except BlockingIOError:
                    pass
        for conn in conns:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()
