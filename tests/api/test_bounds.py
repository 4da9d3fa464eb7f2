"""Bounds: no input gets a 5xx, on PostgreSQL and on the embedded SQLite default alike. Ids
beyond 2^63-1 in a path are a 404, bad filter values a 400, JSON nested deeper than 32 levels a
400, an oversize body a 413, more than 1,000 fields or parameters a 400: every one as JSON."""

import json

import pytest
from django.test import override_settings

pytestmark = pytest.mark.db_sensitive

HUGE = str(10**30)
BEYOND = str(2**63)


def assert_json_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body["detail"]
    if code:
        assert body["code"] == code, body
    return body


@pytest.mark.parametrize(
    "path",
    [
        f"/api/bookings/?room={HUGE}",
        "/api/bookings/?room=-1",
        f"/api/payments/?booking={HUGE}",
        f"/api/notifications/?after={HUGE}",
        "/api/bookings/?date=2026-02-30",
    ],
)
def test_bad_filter_values_are_a_400(people, client_for, path):
    for persona in (people.alice, people.sam):
        assert_json_error(client_for(persona).get(path), 400)


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/api/bookings/{id}/"),
        ("post", "/api/bookings/{id}/cancel/"),
        ("get", "/api/rooms/{id}/"),
        ("post", "/api/rooms/{id}/open/"),
        ("post", "/api/tasks/{id}/approve/"),
        ("get", "/api/payments/{id}/"),
        ("post", "/api/notifications/{id}/read/"),
        ("post", "/api/consultations/{id}/answer/"),
        ("get", "/api/openings/{id}/"),
    ],
)
@pytest.mark.parametrize("pk", [BEYOND, HUGE])
def test_ids_beyond_a_bigint_are_a_404(people, client_for, method, path, pk):
    response = getattr(client_for(people.sam), method)(path.format(id=pk), {}, format="json")
    assert_json_error(response, 404, "not_found")


def test_json_nested_deeper_than_32_is_a_400(db, anon):
    shallow = {"username": "x", "password": "y", "extra": json.loads("[" * 30 + "]" * 30)}
    assert anon.post("/api/auth/token/", shallow, format="json").status_code == 400
    for depth in (33, 1000, 100_000):
        body = "[" * depth + "]" * depth
        response = anon.post("/api/auth/token/", body, content_type="application/json")
        assert_json_error(response, 400, "parse_error")


@override_settings(DEBUG=False)
def test_deep_json_is_a_400_in_production_mode_too(db, anon):
    body = '{"a":' * 5000 + "1" + "}" * 5000
    assert_json_error(anon.post("/api/auth/token/", body, content_type="application/json"), 400, "parse_error")


def test_an_oversize_body_is_a_413(db, anon, settings):
    body = json.dumps({"username": "x", "password": "y" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    assert_json_error(anon.post("/api/auth/token/", body, content_type="application/json"), 413, "too_large")


def test_more_than_1000_parameters_is_a_400(people, client_for, anon):
    query = "&".join(f"p{n}=1" for n in range(1001))
    assert_json_error(client_for(people.sam).get(f"/api/bookings/?{query}"), 400, "too_many_fields")
    assert_json_error(anon.get(f"/api/slots/?date=2030-01-01&{query}"), 400, "too_many_fields")
