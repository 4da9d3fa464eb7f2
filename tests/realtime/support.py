"""Real services for the push tests: private redis-servers, a Celery worker, a uvicorn server,
and a plain HTTP/JSON client. Every process is started in its own session and stopped by its id."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from asgiref.testing import ApplicationCommunicator

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, deadline_s: float = 15.0, proc: subprocess.Popen | None = None) -> None:
    began = time.monotonic()
    while time.monotonic() - began < deadline_s:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {deadline_s:.0f} s")


class Process:
    """A subprocess in its own session, logging to a file."""

    def __init__(self, name: str, cmd: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.name, self.cmd, self.log_path, self.env = name, cmd, log, env
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                self.cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def check_alive(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, f"{self.name} exited\n{self.log()[-4000:]}"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


class RedisServer(Process):
    """A private redis-server (no persistence): stopping it is Redis going down."""

    def __init__(self, tmp_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        super().__init__(f"redis-{self.port}", [*cmd, "--dir", str(tmp_path)], tmp_path / f"redis-{self.port}.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        super().start()
        wait_for_port(self.port, proc=self.proc)
        return self


def need_redis_server() -> None:
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed"
        if IN_CI:
            pytest.fail(message + " (CI=true: a missing service is a failure, never a skip)")
        pytest.skip(message)


def worker_db_url() -> str:
    """The database pytest-django created, for processes of our own (PostgreSQL only)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("workers and servers are other OS processes: they need a shared server database (PostgreSQL)")
    return urlparse(os.environ["DATABASE_URL"])._replace(path="/" + connection.settings_dict["NAME"]).geturl()


def service_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "DEBUG": "1",
        "PYTHONUNBUFFERED": "1",
    }


def celery_worker(
    tmp_path: Path, env: dict[str, str], *, pool: str = "solo", concurrency: int = 1, name: str = "push-test"
) -> Process:
    """A real Celery worker (its own session, logging at info to a file in tmp_path); returns
    once it is ready."""
    cmd = [sys.executable, "-m", "celery", "-A", "clinic", "worker", "--pool", pool, "-l", "info"]
    if pool == "prefork":
        cmd += ["--concurrency", str(concurrency)]
    cmd += ["-n", f"{name}-{os.getpid()}-{free_port()}@%h", "--without-gossip", "--without-mingle"]
    cmd += ["--without-heartbeat"]
    worker = Process("celery worker", cmd, tmp_path / f"worker-{free_port()}.log", env).start()
    began = time.monotonic()
    while " ready." not in worker.log():
        worker.check_alive()
        if time.monotonic() - began > 30:
            worker.stop()
            raise RuntimeError(f"the worker did not get ready\n{worker.log()[-4000:]}")
        time.sleep(0.1)
    return worker


def uvicorn_server(tmp_path: Path, env: dict[str, str], port: int) -> Process:
    cmd = [sys.executable, "-m", "uvicorn", "clinic.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--lifespan", "off", "--log-level", "warning"]
    server = Process("uvicorn", cmd, tmp_path / "uvicorn.log", env).start()
    try:
        wait_for_port(port, deadline_s=30, proc=server.proc)
    except RuntimeError as exc:
        server.stop()
        raise RuntimeError(f"{exc}\n{server.log()[-4000:]}") from None
    return server


@contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Make this process publish its tasks to `url` (celeryconfig read the environment at import)."""
    from clinic.celery import app
    from clinic.notifications import services

    def reset_pools() -> None:
        # The connection and producer pools are built lazily from the broker URL and then kept.
        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None
        # A failure on the previous broker must not keep this one from being tried.
        services._broker_down_until = 0.0

    old = app.conf.broker_url
    app.conf.broker_url = url
    reset_pools()
    try:
        yield
    finally:
        app.conf.broker_url = old
        reset_pools()


def channel_layers(redis_url: str, prefix: str = "asgi") -> dict[str, Any]:
    from clinic.settings import channel_layer_hosts

    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": channel_layer_hosts(redis_url), "prefix": prefix},
        }
    }


class Http:
    """JSON over HTTP to a live server, authenticated by a DRF token."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base, self.token = base, token

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
        """(status, JSON body, seconds taken)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method.upper())
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Token {self.token}")
        began = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        took = time.monotonic() - began
        return status, (json.loads(raw) if raw else None), took

    def get(self, path: str) -> tuple[int, Any, float]:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None) -> tuple[int, Any, float]:
        return self.request("POST", path, body if body is not None else {})


class SocketCommunicator(ApplicationCommunicator):
    """A WebSocket client talking ASGI to the application in this process. (channels.testing
    has one, but importing that package needs daphne, which this project does not use.)"""

    def __init__(self, application: Any, path: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        parsed = urlparse(path)
        scope = {
            "type": "websocket",
            "path": unquote(parsed.path),
            "query_string": parsed.query.encode(),
            "headers": headers or [],
            "subprotocols": [],
        }
        super().__init__(application, scope)

    async def connect(self, timeout: float = 3) -> tuple[bool, int | None]:
        """(True, None) when accepted, (False, close code) when refused."""
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept", response
        return True, None

    async def send_to(self, text: str) -> None:
        await self.send_input({"type": "websocket.receive", "text": text})

    async def receive_json_from(self, timeout: float = 1) -> Any:
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return json.loads(response["text"])

    async def disconnect(self, code: int = 1000) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(1)
