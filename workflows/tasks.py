"""Celery tasks: the periodic sweep that beat runs, acting through the clinic's services."""

from __future__ import annotations

import logging

from celery import shared_task

from clinic.accounts.services import purge_expired_login_locks

logger = logging.getLogger(__name__)


@shared_task(name="workflows.tasks.sweep")
def sweep() -> dict[str, int]:
    """Idempotent periodic work; running it twice changes nothing the second time."""
    result = {"login_locks_purged": purge_expired_login_locks()}
    logger.info("sweep %s", result)
    return result
