"""GET /healthz: the database and Redis, each ok or named as down."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse


def healthz(request) -> JsonResponse:
    result = {"db": "ok", "redis": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        result["db"] = "down"
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
        client.ping()
        client.close()
    except Exception:
        result["redis"] = "down"
    ok = all(value == "ok" for value in result.values())
    return JsonResponse(result, status=200 if ok else 503)
