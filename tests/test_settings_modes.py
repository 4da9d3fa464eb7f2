"""Settings fail loudly on bad values; production mode passes `check --deploy` cleanly."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, **env):
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "CLINIC_ENV"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base | env, capture_output=True, text=True, timeout=120
    )


def test_production_mode_passes_check_deploy():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        CLINIC_ENV="production",
        SECRET_KEY="kR3v9!pQx7Lm2#Zt8Wc4@Yh6Nd1$Fb5Gs0^Ja-Uo_Ie+Ty=Hw*Xz%Vq&Pk",
        SITE_URL="https://clinic.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_needs_a_secret_key():
    result = manage("check", CLINIC_ENV="production", SITE_URL="https://clinic.example.org")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_bad_integer_fails_loudly():
    result = manage("check", MIN_DAYS_BETWEEN_DONATIONS="three")
    assert result.returncode != 0
    assert "MIN_DAYS_BETWEEN_DONATIONS='three' is not an integer" in result.stderr


def test_a_bad_database_url_fails_loudly():
    result = manage("check", DATABASE_URL="mysql://x@y/z")
    assert result.returncode != 0
    assert "only PostgreSQL and SQLite" in result.stderr


def test_a_bad_relay_network_fails_loudly():
    result = manage("check", RELAY_NETWORKS="10.0.0.0/8,the-lan")
    assert result.returncode != 0
    assert "RELAY_NETWORKS" in result.stderr and "the-lan" in result.stderr
