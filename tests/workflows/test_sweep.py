from datetime import timedelta

from django.utils import timezone

from clinic.accounts.models import LoginThrottle
from workflows.tasks import sweep


def test_the_sweep_purges_lifted_login_locks_and_is_idempotent(db):
    LoginThrottle.objects.create(username="a", failures=5, locked_until=timezone.now() - timedelta(minutes=1))
    LoginThrottle.objects.create(username="b", failures=5, locked_until=timezone.now() + timedelta(minutes=1))
    assert sweep()["login_locks_purged"] == 1
    assert sweep()["login_locks_purged"] == 0
    assert list(LoginThrottle.objects.values_list("username", flat=True)) == ["b"]
