"""Authentication that refuses a locked account, right password included."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from clinic.accounts import services


class LockoutModelBackend(ModelBackend):
    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any):
        if username is None:
            username = kwargs.get("username")
        if username is None or password is None:
            return None
        if services.lock_remaining(username) is not None:
            # PermissionDenied stops Django trying other backends and fires user_login_failed.
            raise PermissionDenied("account locked")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            services.note_login_failure(username)
        else:
            services.note_login_success(username)
        return user
