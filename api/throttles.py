"""Request rates (DRF's throttling, counted in the Redis cache): registrations per client
address, questions per user and per address. The client address is the proxy's X-Real-IP only
behind the configured proxy (TRUST_X_REAL_IP), else the peer's. With Redis unreachable the
rate is not enforced (logged): registering and asking never fail for want of a counter."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from clinic.accounts.services import client_address

logger = logging.getLogger(__name__)


class _Rate(SimpleRateThrottle):
    """A rate from settings.THROTTLE_RATES, read when asked (settings may change at run time)."""

    methods: tuple[str, ...] = ("POST",)

    def get_rate(self) -> str | None:
        return settings.THROTTLE_RATES.get(str(self.scope))

    def allow_request(self, request: Any, view: Any) -> bool:
        if request.method not in self.methods:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # the cache (Redis) is down
            logger.warning("rate %s not enforced, cache unavailable: %s", self.scope, exc)
            return True


class PerAddress(_Rate):
    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request) or "unknown"}


class PerUser(_Rate):
    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not request.user.is_authenticated:
            return None  # visitors: counted per address
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class RegistrationsPerAddress(PerAddress):
    scope = "register"


class QuestionsPerAddress(PerAddress):
    scope = "questions_address"


class QuestionsPerUser(PerUser):
    scope = "questions_user"
