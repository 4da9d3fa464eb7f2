"""A Celery worker's pool process killed in the middle of a delivery (prefork pool, acks_late and
task_reject_on_worker_lost): the message goes back to the queue, the task runs again in a fresh
pool process, and the notification ends delivered, pushed once and sent by SMS once."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
from django.db import transaction

from clinic.notifications import services
from clinic.notifications.models import Notification
from tests import factories as f
from tests.faults.sms import sent
from tests.faults.support import GroupListener, start_worker, wait_until
from tests.realtime.support import celery_broker, channel_layers, service_env, worker_db_url

pytestmark = [pytest.mark.celery, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

TASK = "clinic.notifications.tasks.deliver_batch"


def test_a_delivery_killed_mid_task_runs_again_and_sends_once(committed, private_redis, tmp_path, settings):
    sms_log, hang = tmp_path / "sms.log", tmp_path / "hang.pid"
    env = service_env(worker_db_url(), private_redis.url) | {
        "SMS_BACKEND": "tests.faults.sms.RecordingSms",
        "FAULT_SMS_LOG": str(sms_log),
        "FAULT_SMS_HANG": str(hang),
    }
    settings.CHANNEL_LAYERS = channel_layers(private_redis.url)
    donor = f.client_user("dora", phone="13800000009")
    room = f.room("Room A")
    booking = f.booking(donor, room, f.at(f.tomorrow(), "09:00"), status="approved")
    worker = start_worker(tmp_path, env, pool="prefork", concurrency=1)
    try:
        with GroupListener(private_redis.url, [services.group_name(donor.pk)]) as pushes:
            with celery_broker(private_redis.url), transaction.atomic():
                [row] = services.notify([donor], "booking.approved", booking=booking)  # published on commit

            # The first SMS send hangs in the pool process: kill that process there.
            wait_until(lambda: hang.exists() and hang.read_text().strip(), 20, lambda: worker.log()[-3000:])
            child = int(hang.read_text())
            assert child != worker.proc.pid, "the task ran in the worker's main process, not a pool process"
            os.kill(child, signal.SIGKILL)
            killed_at = time.monotonic()

            wait_until(lambda: sent(sms_log), 20, lambda: f"no SMS after the kill\n{worker.log()[-3000:]}")
            redone_in = time.monotonic() - killed_at
            time.sleep(1.5)  # room for anything sent twice to show
            log = worker.log()
            assert "WorkerLostError" in log, log[-3000:]
            assert len(re.findall(rf"Task {re.escape(TASK)}\[[0-9a-f-]+\] received", log)) == 2, log[-3000:]
            assert sent(sms_log) == [row.pk], "the SMS was not sent exactly once"
            assert pushes.ids() == [row.pk], "the push was not made exactly once"
        row.refresh_from_db()
        assert row.delivered_at is not None
        assert not Notification.objects.filter(delivered_at__isnull=True).exists()
        print(f"pool process {child} killed mid-send; the task ran again and sent in {redone_in:.2f} s")
    finally:
        worker.stop()
