"""Fixtures of the fault tests: a database committed for processes of our own, private
redis-servers."""

from __future__ import annotations

import pytest

from tests.factories import restore_roles
from tests.realtime.support import RedisServer, need_redis_server


@pytest.fixture
def committed(transactional_db):
    """Data committed for other processes to see (each such test ends with a flush of every
    table); the roles and their permissions exist again whatever an earlier flush left."""
    restore_roles()


@pytest.fixture
def private_redis(tmp_path):
    need_redis_server()
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()
