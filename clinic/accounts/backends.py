"""Authentication that refuses a locked account, right password included; permissions in one query."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
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

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        """The user's own and his roles' permissions in one query (Django's backend takes two),
        cached on the user object for the request like Django's."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            names = ("content_type__app_label", "codename")
            if user_obj.is_superuser:
                rows = Permission.objects.values_list(*names)
            else:
                # A UNION of two indexed lookups; an OR across both joins would scan the tables.
                # (Unordered: SQLite refuses ORDER BY inside a compound statement.)
                own = Permission.objects.filter(user=user_obj).order_by().values_list(*names)
                rows = own.union(Permission.objects.filter(group__user=user_obj).order_by().values_list(*names))
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache
