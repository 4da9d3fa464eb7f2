"""Security headers on every kind of answer, errors included (the access matrix checks them on
every endpoint for every persona too); HSTS, the SSL redirect and secure cookies in
production mode, checked in a subprocess started with CLINIC_ENV=production."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from tests.security.helpers import header_problems

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def donor_browser(people):
    client = Client()
    client.force_login(people.alice)
    return client


def test_error_answers_carry_the_headers(people, client_for, donor_browser, monkeypatch):
    anon = Client(raise_request_exception=False)
    answers = {
        "page 404": anon.get("/no-such-page/"),
        "door 404": anon.get("/d/" + "x" * 32),
        "pay 404": anon.get("/pay/nothing"),
        "api 404": anon.get("/api/no-such-endpoint/"),
        "api 404 object": client_for(people.alice).get("/api/bookings/999999999/"),
        "api 401": anon.get("/api/me/"),
        "api 403": client_for(people.alice).get("/api/tasks/"),
        "api 405": client_for(people.alice).delete("/api/me/"),
        "api 400 bad json": client_for(people.alice).generic(
            "POST", "/api/consultations/", "{not json", content_type="application/json"
        ),
        "api 415": client_for(people.alice).generic("POST", "/api/consultations/", "a=b", content_type="text/plain"),
        "page 403": donor_browser.get("/staff/"),
        "page 405": donor_browser.get("/logout/"),
        "page 302": anon.get("/me/bookings/"),
        "csrf 403": Client(enforce_csrf_checks=True).post("/login/", {"username": "a", "password": "b"}),
        "bad host 400": anon.get("/", headers={"Host": "evil.example"}),
    }
    # And the 500 page: a view that breaks unexpectedly.
    from api.views import slots

    def broken(day):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(slots, "slots_on", broken)
    answers["api 500"] = anon.get("/api/slots/?date=2030-01-01")
    assert answers["api 500"].status_code == 500
    assert answers["api 500"].json() == {"detail": "Internal error; nothing was changed.", "code": "server_error"}
    expected = {"page 404": 404, "api 401": 401, "api 403": 403, "page 403": 403, "csrf 403": 403, "bad host 400": 400}
    for name, status in expected.items():
        assert answers[name].status_code == status, (name, answers[name].status_code)
    problems = [p for name, response in answers.items() for p in header_problems(response, name.split()[0])]
    assert not problems, "\n".join(problems)
    for name, response in answers.items():
        if name.startswith("api"):
            assert response["Content-Type"].startswith("application/json"), name
            assert {"detail", "code"} <= set(response.json()), name


def test_pages_use_a_fresh_nonce_and_scripts_carry_it(db):
    client = Client()
    first, second = client.get("/"), client.get("/")
    nonce = first["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert nonce != second["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", first.content.decode())
    assert inline, "the home page has inline scripts"
    assert all(f'nonce="{nonce}"' in tag for tag in inline), inline


def test_static_files_are_not_sniffed(db, settings):
    settings.WHITENOISE_USE_FINDERS = True  # no collectstatic in tests: serve from the apps
    settings.WHITENOISE_AUTOREFRESH = True
    response = Client().get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"


PRODUCTION_PROBE = r"""
import json, sys
import django
django.setup()
from django.test import Client
from django.test.utils import override_settings

# collectstatic has not run here: name static files plainly (the manifest storage would fail).
plain_storage = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
override_settings(STORAGES={"default": plain_storage | {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                            "staticfiles": plain_storage}).enable()

client = Client(raise_request_exception=False)
host = {"HTTP_HOST": "clinic.example.org"}
https = {**host, "HTTP_X_FORWARDED_PROTO": "https"}
out = {}
for path in sys.argv[1:]:
    response = client.get(path, **https)
    out[path] = {
        "status": response.status_code,
        "headers": dict(response.items()),
        "cookies": {k: {"secure": bool(v["secure"])} for k, v in response.cookies.items()},
    }
plain = client.get("/book/", **host)
out["plain http"] = {"status": plain.status_code, "location": plain.get("Location", "")}
print(json.dumps(out))
"""

PRODUCTION_PATHS = ["/", "/book/", "/d/lobby", "/login/", "/no-such-page/", "/api/me/", "/api/faq/", "/api/nope/"]


def _database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor != "postgresql":
        return f"sqlite:///{settings['NAME']}"
    port = settings.get("PORT") or 5432
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return f"postgres://{settings['USER']}{password}@{settings['HOST'] or '127.0.0.1'}:{port}/{settings['NAME']}"


def test_production_mode_sends_hsts_redirects_to_https_and_secures_cookies(db):
    """The subprocess reads the test database (its schema and roles are committed)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "CLINIC_ENV", "ALLOWED_HOSTS"}}
    env |= {
        "CLINIC_ENV": "production",
        "SECRET_KEY": "kR3v9!pQx7Lm2#Zt8Wc4@Yh6Nd1$Fb5Gs0^Ja-Uo_Ie+Ty=Hw*Xz%Vq&Pk",
        "SITE_URL": "https://clinic.example.org",
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE, *PRODUCTION_PATHS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["plain http"]["status"] == 301
    assert answers["plain http"]["location"] == "https://clinic.example.org/book/"
    problems = []
    for path in PRODUCTION_PATHS:
        answer = answers[path]
        assert answer["status"] < 500, (path, answer["status"])
        problems += header_problems(answer["headers"], path, hsts=True, status=answer["status"])
        hsts = answer["headers"].get("Strict-Transport-Security", "")
        if "preload" not in hsts:
            problems.append(f"{path}: HSTS without preload: {hsts!r}")
        for name, flags in answer["cookies"].items():
            if not flags["secure"]:
                problems.append(f"{path}: cookie {name} is not Secure")
    assert not problems, "\n".join(problems)
    assert answers["/"]["cookies"].get("csrftoken", {}).get("secure") is True
    assert answers["/api/me/"]["status"] == 401
    assert answers["/no-such-page/"]["status"] == 404
