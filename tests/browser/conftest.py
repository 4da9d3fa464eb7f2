"""A live platform for the browser: uvicorn, a Celery worker, a private Redis, the relay
simulator, and headless Chromium driven by Playwright."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.factories import restore_roles
from tests.realtime.conftest import private_redis  # noqa: F401  (fixture)
from tests.realtime.support import (
    celery_broker,
    celery_worker,
    channel_layers,
    free_port,
    service_env,
    uvicorn_server,
    worker_db_url,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


@pytest.fixture
def chromium(monkeypatch):
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message + " (CI=true: a missing browser is a failure, never a skip)")
        pytest.skip(message)
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still plain synchronous code, so let Django allow them (for this test only).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # The connection the test used while Playwright's loop ran is not the one Django
            # sees once it has stopped: hand it back now, or it outlives the test database.
            connections.close_all()


class LiveStack:
    """The web server and a Celery worker on the test database, the web server restartable."""

    def __init__(self, tmp_path: Path, env: dict[str, str], port: int) -> None:
        self.tmp_path, self.env, self.port = tmp_path, env, port
        self.url = f"http://127.0.0.1:{port}"
        self.sms_log = Path(env["FAULT_SMS_LOG"])
        self.worker = self.server = None

    def start(self) -> None:
        self.worker = celery_worker(self.tmp_path, self.env)
        self.start_web()

    def start_web(self) -> None:
        self.server = uvicorn_server(self.tmp_path, self.env, self.port)

    def stop_web(self) -> None:
        if self.server is not None:
            self.server.stop()

    def stop(self) -> None:
        self.stop_web()
        if self.worker is not None:
            self.worker.stop()


@pytest.fixture
def live_stack(transactional_db, private_redis, tmp_path, settings):  # noqa: F811
    """The platform on the test database. The scan window is widened so that a slot starting in
    the next minutes can be opened whatever the time of day the suite runs."""
    restore_roles()
    env = service_env(worker_db_url(), private_redis.url) | {
        "EARLY_CHECK_IN_MINUTES": "180",
        "CHECK_IN_GRACE_MINUTES": "30",
        "ARRIVAL_GAP_MINUTES": "0",
        "SMS_BACKEND": "tests.faults.sms.RecordingSms",
        "FAULT_SMS_LOG": str(tmp_path / "sms.log"),
    }
    settings.CHANNEL_LAYERS = channel_layers(private_redis.url)
    stack = LiveStack(tmp_path, env, free_port())
    with celery_broker(private_redis.url):
        try:
            stack.start()
            yield stack
        finally:
            stack.stop()


@pytest.fixture
def live(live_stack) -> str:
    return live_stack.url


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS
