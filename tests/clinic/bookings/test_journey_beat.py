"""The retest rule run by a real Celery beat and worker on a real Redis broker (PostgreSQL only:
the worker is another OS process)."""

from __future__ import annotations

import os
import time

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from clinic.accounts.models import DonorProfile
from clinic.notifications.models import Notification
from tests import factories as f
from tests.workflows.helpers import hold_deliveries
from tests.workflows.test_celery_expiry import broker_url, celery_procs, worker_db_url  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]
DEADLINE = 30.0


@pytest.fixture(autouse=True)
def _default_roles(db):
    f.restore_roles()


@pytest.fixture(autouse=True)
def _held(monkeypatch):
    hold_deliveries(monkeypatch)


def test_beat_marks_a_donors_retest_due(people, celery_procs):  # noqa: F811
    room = f.room("Room A")
    f.booking(people.alice, room, timezone.now() - relativedelta(months=6, days=2), status="completed")
    f.booking(people.bob, room, timezone.now() - relativedelta(months=5), status="completed")
    celery_procs.env["DONOR_JOURNEY_SECONDS"] = "1"
    celery_procs.start(
        "worker", "worker", "--pool", "solo", "-l", "info", "-n", f"journey-test-{os.getpid()}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    )  # fmt: skip
    celery_procs.start("beat", "beat", "-l", "info", "-s", str(celery_procs.tmp_path / "beat-schedule"))
    began = time.monotonic()
    while time.monotonic() - began < DEADLINE:
        celery_procs.check_alive()
        if DonorProfile.objects.get(user=people.alice).donor_status == "retest_due":
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"alice still qualified after {DEADLINE:.0f} s\n{celery_procs.logs()}")
    print(f"marked by beat after {time.monotonic() - began:.1f} s")
    # Further runs change nothing: one notice, bob untouched.
    runs = celery_procs.log("worker").count("clinic.bookings.tasks.mark_retests_due[")
    while celery_procs.log("worker").count("clinic.bookings.tasks.mark_retests_due[") < runs + 4:
        assert time.monotonic() - began < 2 * DEADLINE, celery_procs.logs()
        time.sleep(0.2)
    assert "Sending due task donor-journey (clinic.bookings.tasks.mark_retests_due)" in celery_procs.log("beat")
    assert DonorProfile.objects.get(user=people.bob).donor_status == "qualified"
    assert Notification.objects.filter(recipient=people.alice, kind="donor.status").count() == 1
    assert "Traceback" not in celery_procs.log("worker"), celery_procs.logs()
