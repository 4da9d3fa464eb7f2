"""Celery tasks of the booking domain that beat runs."""

from __future__ import annotations

import logging

from celery import shared_task

from clinic.bookings import journey

logger = logging.getLogger(__name__)


@shared_task(name="clinic.bookings.tasks.mark_retests_due")
def mark_retests_due() -> dict[str, int]:
    """Qualified donors whose retest has fallen due become `retest_due`; idempotent."""
    result = {"retests_due": journey.mark_retests_due().marked}
    logger.info("donor journey %s", result)
    return result
