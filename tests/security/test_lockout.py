"""Login lockout: from the 6th consecutive failure an account is refused, the right password
included, on every way in: the token API, the /login/ page, the admin's and the inbox's login
pages, whichever of them the failures came through. Other accounts are unaffected.
(tests/api/test_token.py covers the token endpoint on its own.)"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import PASSWORD

WRONG = "not-the-password"


def api_login(username, password):
    from rest_framework.test import APIClient

    return APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json")


def page_login(path, username, password) -> tuple[Client, object]:
    client = Client()
    response = client.post(path, {"username": username, "password": password})
    return client, response


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


PAGES = ["/login/", "/admin/login/", "/accounts/login/"]


@pytest.mark.parametrize("path", PAGES)
def test_the_sixth_attempt_on_a_login_page_is_refused_even_with_the_right_password(people, path):
    username = "sam" if path == "/admin/login/" else "alice"
    for n in range(5):
        client, response = page_login(path, username, WRONG)
        assert response.status_code == 200, (n, response.status_code)
        assert not logged_in(client)
    client, response = page_login(path, username, PASSWORD)
    assert response.status_code == 200
    assert not logged_in(client)
    if path == "/login/":
        assert "Too many failed logins" in response.content.decode()
    # Another account logs in as usual meanwhile.
    other = "rita" if username == "sam" else "bob"
    client, response = page_login(path, other, PASSWORD)
    assert response.status_code == 302 and logged_in(client)


def test_failures_on_the_api_lock_the_login_page(people):
    for _ in range(5):
        assert api_login("alice", WRONG).status_code == 400
    client, response = page_login("/login/", "alice", PASSWORD)
    assert response.status_code == 200 and not logged_in(client)
    assert "Too many failed logins" in response.content.decode()


def test_failures_on_the_login_page_lock_the_api(people):
    for _ in range(5):
        page_login("/login/", "alice", WRONG)
    response = api_login("alice", PASSWORD)
    assert response.status_code in (403, 429)
    assert response.json()["code"] == "account_locked"
    assert "Too many failed logins" in response.json()["detail"]


@pytest.mark.parametrize("variant", ["ALICE", "Alice", " alice", "alice "])
def test_spelling_the_username_differently_does_not_get_round_the_lock(people, variant):
    for _ in range(5):
        api_login("alice", WRONG)
    assert api_login(variant, PASSWORD).status_code in (400, 403, 429)
    assert api_login("alice", PASSWORD).status_code in (403, 429)
    client, _ = page_login("/login/", variant, PASSWORD)
    assert not logged_in(client)


def test_unknown_usernames_fail_the_same_way_and_do_not_crash(db):
    for _ in range(7):
        response = api_login("nobody-here", WRONG)
        assert response.status_code in (400, 429)
    client, response = page_login("/login/", "nobody-here", WRONG)
    assert response.status_code == 200 and not logged_in(client)
