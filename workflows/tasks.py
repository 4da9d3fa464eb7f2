"""Celery tasks: the periodic sweep that beat runs. Every part is idempotent."""

from __future__ import annotations

import logging

from celery import shared_task
from viewflow.workflow.timers import fire_due_timers

from clinic.accounts.services import purge_expired_login_locks, purge_socket_tickets
from clinic.bookings import waitlist
from clinic.notifications import services as notifications
from clinic.outreach.services import push_due_promotions, send_pending_answer_sms
from clinic.payments.services import close_unpaid_orders, follow_refunds
from workflows import boards, doors, process, sessions

logger = logging.getLogger(__name__)


def waitlist_counts() -> dict[str, int]:
    """The waitlist's part; a failure there (logged) leaves the sweep's other parts to run."""
    try:
        run = waitlist.sweep()
    except Exception:
        logger.exception("waitlist sweep failed; the next sweep tries again")
        return {"waitlist_failed": 1}
    return {"waitlist_offers_lapsed": run.lapsed, "waitlist_offered": run.offered, "waitlist_days_ended": run.ended}


@shared_task(name="workflows.tasks.sweep")
def sweep() -> dict[str, int]:
    """Periodic work; running it twice changes nothing the second time. The booking process's
    timeouts (review expiry, unpaid expiry, no-show) are its timers; the rest is what no
    process owns."""
    result = {
        "timers_fired": fire_due_timers() or 0,
        "steps_revived": process.revive_failed_steps(),
        "overstays": len(sessions.flag_overstays()),
        "doors_held_open": len(doors.watch_doors()),
        "login_locks_purged": purge_expired_login_locks(),
        "socket_tickets_purged": purge_socket_tickets(),
        "payment_orders_closed": close_unpaid_orders(),
        "refunds_completed": follow_refunds(),
        "promotions_pushed": push_due_promotions(),
        "answers_texted": send_pending_answer_sms(),
        **waitlist_counts(),
        **notifications.sweep(),
    }
    logger.info("sweep %s", result)
    return result


@shared_task(name="workflows.tasks.probe_relays")
def probe_relays() -> dict[str, int]:
    """Beat's relay-board health watch (workflows.boards); idempotent."""
    result = boards.watch_relays()
    logger.info("relay probe %s", result)
    return result
