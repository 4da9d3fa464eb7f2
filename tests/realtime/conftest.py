"""Fixtures of the push tests. Sockets, workers and servers share the database with the test,
so these tests are transactional: each ends with a flush of every table."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from tests.factories import restore_roles
from tests.realtime.support import (
    Process,
    RedisServer,
    celery_broker,
    celery_worker,
    channel_layers,
    free_port,
    need_redis_server,
    service_env,
    uvicorn_server,
    worker_db_url,
)


@pytest.fixture(autouse=True)
def _roles(transactional_db):
    restore_roles()


@pytest.fixture
def shared_redis_layer(settings, redis_url):
    """The channel layer on the usual Redis, under a prefix no other run shares."""
    settings.CHANNEL_LAYERS = channel_layers(redis_url, prefix=f"test-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def private_redis(redis_url, tmp_path):
    need_redis_server()
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Stack:
    redis: RedisServer
    worker: Process
    server: Process
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/notifications/"

    def check_alive(self) -> None:
        self.worker.check_alive()
        self.server.check_alive()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.log()[-3000:]}" for p in (self.worker, self.server, self.redis))


@pytest.fixture
def stack(transactional_db, private_redis, tmp_path, settings):
    """A private Redis as broker and channel layer, a real Celery worker and a live uvicorn server
    on the test database; this process publishes to the same broker."""
    port = free_port()
    # The server's own origin: a browser socket's Origin must match it exactly.
    env = service_env(worker_db_url(), private_redis.url) | {"SITE_URL": f"http://127.0.0.1:{port}"}
    settings.CHANNEL_LAYERS = channel_layers(private_redis.url)
    worker = server = None
    with celery_broker(private_redis.url):
        try:
            worker = celery_worker(tmp_path, env)
            server = uvicorn_server(tmp_path, env, port)
            yield Stack(redis=private_redis, worker=worker, server=server, port=port)
        finally:
            for process in (server, worker):
                if process is not None:
                    process.stop()
