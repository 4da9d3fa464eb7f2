"""Login bursts: however many passwords arrive at once, at most LOGIN_MAX_FAILURES are checked
per (account, address) before the lock, so a burst cannot try its way past the lockout; and a
stranger who keeps failing against a known username (staff, admin) slows down his own guesses,
never the account's owner at an address he logs in from. On PostgreSQL and on a SQLite file,
with real threads and their own connections (the count is the database's)."""

from __future__ import annotations

import itertools
import threading

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.accounts.models import LoginThrottle, User
from tests.clinic.bookings.test_booking_races import race
from tests.factories import PASSWORD

pytestmark = pytest.mark.db_sensitive

WRONG = "not-the-password"
BURST = 25


def login(username: str, password: str, address: str = "203.0.113.9"):
    client = APIClient(REMOTE_ADDR=address)
    return client.post("/api/auth/token/", {"username": username, "password": password}, format="json")


@pytest.fixture
def checked(monkeypatch) -> list[bool]:
    """Every password the platform actually checks (User.check_password), in order: right or not."""
    seen: list[bool] = []
    guard = threading.Lock()
    original = User.check_password

    def counting(self, raw_password):
        right = original(self, raw_password)
        with guard:
            seen.append(right)
        return right

    monkeypatch.setattr(User, "check_password", counting)
    return seen


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_wrong_passwords_gets_at_most_five_checked_and_then_the_right_one_is_refused(people, checked):
    answers = race([lambda: login("sam", WRONG) for _ in range(BURST)])
    codes = sorted(a.status_code for a in answers)
    assert len(checked) == 5, len(checked)
    assert codes == [400] * 5 + [429] * (BURST - 5), codes
    assert all(a.json()["code"] == "account_locked" for a in answers if a.status_code == 429)
    right = login("sam", PASSWORD)
    assert right.status_code == 429 and right.json()["code"] == "account_locked"
    assert len(checked) == 5  # refused without checking it
    row = LoginThrottle.objects.get(username="sam", address="203.0.113.9")
    assert row.locked_until is not None and row.locked_until > timezone.now()


@pytest.mark.django_db(transaction=True)
def test_the_right_password_inside_a_burst_counts_like_any_other(people, checked):
    """Sent among 24 wrong ones it gets in only if it is among the five checked; the wrong ones
    checked before it never exceed five. (Once it succeeded the counts start again: whoever sent
    it holds the password.)"""
    answers = race([lambda: login("sam", WRONG) for _ in range(BURST - 1)] + [lambda: login("sam", PASSWORD)])
    assert len(list(itertools.takewhile(lambda right: not right, checked))) <= 5, checked
    assert sum(1 for a in answers if a.status_code == 200) == checked.count(True) <= 1
    assert sum(1 for a in answers if a.status_code in (200, 400)) == len(checked)


def test_a_stranger_cannot_lock_staff_out_where_they_log_in(people, checked):
    assert login("sam", PASSWORD, "10.1.1.1").status_code == 200  # sam's desk: a known address
    # A stranger from four addresses: locked at each, 20 failures on the account.
    for n in range(4):
        for _ in range(6):
            login("sam", WRONG, f"198.51.100.{n}")
    assert login("sam", WRONG, "198.51.100.0").status_code == 429
    # sam at his desk is not slowed down at all.
    assert login("sam", PASSWORD, "10.1.1.1").status_code == 200
    assert login("sam", PASSWORD, "10.1.1.1").status_code == 200


def test_after_twenty_failures_new_addresses_get_one_check_per_pause(people, checked, settings):
    for n in range(4):
        for _ in range(5):
            assert login("adam", WRONG, f"198.51.100.{n}").status_code == 400
    before = len(checked)
    # From a fifth address: one check, then refused for a few seconds, without a check.
    assert login("adam", WRONG, "192.0.2.77").status_code == 400
    paced = login("adam", PASSWORD, "192.0.2.78")
    assert paced.status_code == 429 and "few seconds" in paced.json()["detail"]
    assert len(checked) == before + 1
    # After the pause the owner gets in from a new place too (and the pacing ends).
    account = LoginThrottle.objects.get(username="adam", address=LoginThrottle.ACCOUNT)
    LoginThrottle.objects.filter(pk=account.pk).update(next_try_at=timezone.now())
    assert login("adam", PASSWORD, "192.0.2.78").status_code == 200
    assert LoginThrottle.objects.get(pk=account.pk).failures == 0


def test_the_address_comes_from_the_proxy_only_behind_the_proxy(people, settings):
    """X-Real-IP is the client's address only when TRUST_X_REAL_IP says a proxy sets it: otherwise
    a guesser could claim a new address for every attempt."""
    settings.TRUST_X_REAL_IP = False
    for n in range(5):
        APIClient(REMOTE_ADDR="203.0.113.5").post(
            "/api/auth/token/", {"username": "rita", "password": WRONG}, format="json", HTTP_X_REAL_IP=f"10.9.9.{n}"
        )
    refused = APIClient(REMOTE_ADDR="203.0.113.5").post(
        "/api/auth/token/", {"username": "rita", "password": PASSWORD}, format="json", HTTP_X_REAL_IP="10.9.9.99"
    )
    assert refused.status_code == 429
    settings.TRUST_X_REAL_IP = True
    behind = APIClient(REMOTE_ADDR="127.0.0.1").post(
        "/api/auth/token/", {"username": "rita", "password": PASSWORD}, format="json", HTTP_X_REAL_IP="10.9.9.99"
    )
    assert behind.status_code == 200
