from clinic.accounts.models import AccessToken as Token
from clinic.audit.models import AuditEvent
from tests.factories import PASSWORD


def login(client, username, password):
    return client.post("/api/auth/token/", {"username": username, "password": password}, format="json")


def test_it_issues_a_token(people, anon):
    response = login(anon, "alice", PASSWORD)
    assert response.status_code == 200
    assert response.json()["token"] == Token.objects.get(user=people.alice).key
    assert AuditEvent.objects.filter(action="auth.login", actor=people.alice, outcome="success").exists()


def test_it_refuses_a_wrong_password(people, anon):
    response = login(anon, "alice", "nope")
    assert response.status_code == 400
    assert response.json() == {"detail": "Wrong username or password.", "code": "bad_credentials"}
    assert not Token.objects.filter(user=people.alice).exists()
    assert AuditEvent.objects.filter(action="auth.login", outcome="refused", object_id="alice").exists()


def test_the_sixth_wrong_password_is_refused_with_a_clear_message(people, anon):
    for _ in range(5):
        assert login(anon, "alice", "wrong").status_code == 400
    response = login(anon, "alice", "wrong")
    assert response.status_code == 429
    assert response.json()["code"] == "account_locked"
    assert "Too many failed logins" in response.json()["detail"]
    # The right password is refused too until the lock lifts.
    response = login(anon, "alice", PASSWORD)
    assert response.status_code == 429
    assert not Token.objects.filter(user=people.alice).exists()


def test_other_accounts_are_unaffected_by_a_lock(people, anon):
    for _ in range(6):
        login(anon, "alice", "wrong")
    assert login(anon, "bob", PASSWORD).status_code == 200


def test_the_lock_lifts_after_the_set_time(people, anon, settings):
    from datetime import timedelta

    from django.utils import timezone

    from clinic.accounts.models import LoginThrottle

    for _ in range(5):
        login(anon, "alice", "wrong")
    assert login(anon, "alice", PASSWORD).status_code == 429
    LoginThrottle.objects.filter(username="alice").update(locked_until=timezone.now() - timedelta(seconds=1))
    assert login(anon, "alice", PASSWORD).status_code == 200
    # The counts start again; the address is remembered as one alice logged in from.
    rows = LoginThrottle.objects.filter(username="alice")
    assert {(row.address, row.failures, row.locked_until) for row in rows} == {("*", 0, None), ("127.0.0.1", 0, None)}
    assert rows.get(address="127.0.0.1").succeeded_at is not None


def test_a_success_resets_the_count(people, anon):
    for _ in range(4):
        login(anon, "alice", "wrong")
    assert login(anon, "alice", PASSWORD).status_code == 200
    for _ in range(4):
        login(anon, "alice", "wrong")
    assert login(anon, "alice", PASSWORD).status_code == 200


def test_an_inactive_account_cannot_log_in(people, anon):
    people.alice.is_active = False
    people.alice.save()
    assert login(anon, "alice", PASSWORD).status_code == 400


def test_each_login_issues_its_own_token_and_both_work(people, anon):
    first, second = login(anon, "alice", PASSWORD).json()["token"], login(anon, "alice", PASSWORD).json()["token"]
    assert first != second
    assert set(Token.objects.filter(user=people.alice).values_list("key", flat=True)) == {first, second}
    for key in (first, second):
        anon.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert anon.get("/api/me/").status_code == 200


def test_a_token_unused_for_token_idle_days_stops_working(people, anon, settings):
    from datetime import timedelta

    from django.utils import timezone

    key = login(anon, "alice", PASSWORD).json()["token"]
    anon.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    Token.objects.filter(pk=key).update(last_used=timezone.now() - timedelta(days=settings.TOKEN_IDLE_DAYS, minutes=1))
    response = anon.get("/api/me/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    assert not Token.objects.filter(pk=key).exists()


def test_the_last_use_is_written_at_most_hourly(people, anon):
    from datetime import timedelta

    from django.utils import timezone

    key = login(anon, "alice", PASSWORD).json()["token"]
    anon.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    recent = timezone.now() - timedelta(minutes=59)
    Token.objects.filter(pk=key).update(last_used=recent)
    assert anon.get("/api/me/").status_code == 200
    assert Token.objects.get(pk=key).last_used == recent  # no write
    old = timezone.now() - timedelta(hours=2)
    Token.objects.filter(pk=key).update(last_used=old)
    assert anon.get("/api/me/").status_code == 200
    assert Token.objects.get(pk=key).last_used > old + timedelta(hours=1)
