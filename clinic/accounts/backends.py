"""Authentication under the login lockout (clinic.accounts.services.guarded_login): every way in
(token API, login pages, admin) counts the attempt before the password is checked."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from clinic.accounts import services
from clinic.errors import Locked


class LockoutModelBackend(ModelBackend):
    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any):
        if username is None:
            username = kwargs.get("username")
        if username is None or password is None:
            return None
        try:
            return services.guarded_login(
                username,
                services.client_address(request),
                lambda: super(LockoutModelBackend, self).authenticate(
                    request, username=username, password=password, **kwargs
                ),
            )
        except Locked as refusal:
            # The caller tells the person why (the token API's 429, the login page's message).
            if request is not None:
                request.login_refusal = refusal
            # PermissionDenied stops Django trying other backends and fires user_login_failed.
            raise PermissionDenied("account locked") from refusal
