"""Personas (one per role), API clients and checks that the real services are there."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

# Django-dependent imports live inside the fixtures: tests/hardware runs without Django.

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def need_service(name: str, url: str, port: int) -> None:
    """A missing service fails the run in CI and skips elsewhere."""
    if _reachable(url, port):
        return
    message = f"{name} is not reachable at {url}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing service is a failure, never a skip)")
    pytest.skip(message)


def pytest_sessionstart(session) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres") and not _reachable(url, 5432):
        pytest.exit(f"PostgreSQL is not reachable at {url}", returncode=3)


@pytest.fixture
def sim(tmp_path):
    """The relay simulator (a real Modbus TCP server) on a free port of 127.0.0.1."""
    from hardware.simulator import RelaySimulator

    simulator = RelaySimulator(log_path=tmp_path / "relays.log").start()
    yield simulator
    simulator.stop()


@pytest.fixture
def redis_url() -> str:
    from django.conf import settings

    need_service("Redis", settings.REDIS_URL, 6379)
    return settings.REDIS_URL


class Personas:
    """alice and bob are donors, carl stores his own sperm, sam is staff, rita manages
    rooms, adam administers; `anon` is a visitor."""

    def __init__(self) -> None:
        from tests import factories

        self.alice = factories.client_user("alice", role="donor", real_name="Alice Wang", phone="13800000001")
        self.bob = factories.client_user("bob", role="donor", real_name="Bob Li", phone="13800000002")
        self.carl = factories.client_user("carl", role="self_preservation", real_name="Carl Zhao", phone="13800000003")
        self.sam = factories.staff_user("sam", role="staff")
        self.rita = factories.staff_user("rita", role="room_manager")
        self.adam = factories.staff_user("adam", role="system_admin")

    def all(self) -> dict:
        return {name: getattr(self, name) for name in ("alice", "bob", "carl", "sam", "rita", "adam")}


@pytest.fixture
def people(db) -> Personas:
    return Personas()


@pytest.fixture
def client_for():
    """An API client authenticated by token as the given user (None: anonymous)."""

    from rest_framework.test import APIClient

    from clinic.accounts.models import AccessToken as Token

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def anon():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture(autouse=True)
def _english_unless_zh(request):
    """The site speaks zh-hans by default, but most tests assert English texts: they run with
    LANGUAGE_CODE="en" (a request's Accept-Language or language cookie still wins). Tests marked
    `zh`, and everything under tests/i18n/, keep the real default."""
    if not request.config.pluginmanager.hasplugin("django"):  # tests/hardware runs without Django
        yield
        return
    from django.utils import translation

    if request.node.get_closest_marker("zh") or "i18n" in request.node.path.relative_to(request.config.rootpath).parts:
        translation.deactivate()
        yield
        translation.deactivate()
        return
    request.getfixturevalue("settings").LANGUAGE_CODE = "en"
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _generous_rates(request):
    """Request rates (api.throttles) out of the way of tests that register or ask many times;
    tests of the rates set their own (tests/api/test_register.py, test_consultations.py)."""
    if not request.config.pluginmanager.hasplugin("django"):
        yield
        return
    settings = request.getfixturevalue("settings")
    settings.THROTTLE_RATES = {scope: "100000/hour" for scope in settings.THROTTLE_RATES}
    yield


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    from django.conf import settings

    # PBKDF2 at a million rounds costs ~0.3 s per persona; tests do not measure hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield


@pytest.fixture(autouse=True)
def _reference_data_after_flush(request):
    """A transactional test (real threads, workers, servers) ends with a flush of every table,
    taking the roles, their permissions and the seeded fee items with it. Put them back before
    each transactional test, as the migrations left them."""
    marker = request.node.get_closest_marker("django_db")
    if (marker and marker.kwargs.get("transaction")) or "transactional_db" in request.fixturenames:
        request.getfixturevalue("transactional_db")
        from clinic.payments.models import FeeItem
        from tests.factories import restore_roles

        restore_roles()
        for code, name, amount_fen in (
            ("self_preservation_collection", "自精保存取精费", 80000),
            ("storage_yearly", "精液冷冻保存年费", 100000),
        ):
            FeeItem.objects.get_or_create(code=code, defaults={"name": name, "amount_fen": amount_fen})
    yield
