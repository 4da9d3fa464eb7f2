"""Helpers for the request-rate tests (api.throttles): the rates as deployed, and counters that
start from zero whatever an earlier run left in the test Redis."""

from __future__ import annotations

from django.core.cache import cache


def deployed_rates(settings, **rates: str) -> None:
    settings.THROTTLE_RATES = {
        "register": "10/hour",
        "questions_user": "10/hour",
        "questions_address": "20/hour",
    } | rates


def fresh_counters(scope: str, *idents: object) -> None:
    cache.delete_many([f"throttle_{scope}_{ident}" for ident in idents])
