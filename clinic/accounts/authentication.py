"""API token authentication: `Authorization: Token <key>` with the key of one login's
AccessToken. A token unused for TOKEN_IDLE_DAYS stops working (and is deleted); its last use is
written at most once an hour, so a busy app costs no write per request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from clinic.accounts.models import AccessToken, User

LAST_USE_GRANULARITY = timedelta(hours=1)


def user_of_token(key: str) -> tuple[User, AccessToken] | None:
    """The active user of a live token (its last use recorded), or None."""
    token = AccessToken.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used <= now - timedelta(days=settings.TOKEN_IDLE_DAYS):
        AccessToken.objects.filter(pk=token.pk).delete()
        return None
    if token.last_used <= now - LAST_USE_GRANULARITY:
        AccessToken.objects.filter(pk=token.pk).update(last_used=now)
    return token.user, token


class AccessTokenAuthentication(TokenAuthentication):
    model = AccessToken

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        found = user_of_token(key)
        if found is None:
            raise AuthenticationFailed(_("Invalid or expired token; please log in again."))
        return found
