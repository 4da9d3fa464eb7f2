"""Authentication under the login lockout (clinic.accounts.services.guarded_login): every way in
(token API, login pages, admin) counts the attempt before the password is checked."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Q

from clinic.accounts import services
from clinic.accounts.models import User
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

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        """Django's answer (his own permissions and his roles', all of them for a superuser,
        none when inactive), read in one query instead of two: most requests ask it once."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                perms = Permission.objects.all()
            else:
                own = User.user_permissions.through.objects.filter(user_id=user_obj.pk).values("permission_id")
                roles = Group.permissions.through.objects.filter(group__user=user_obj.pk).values("permission_id")
                perms = Permission.objects.filter(Q(pk__in=own) | Q(pk__in=roles))
            rows = perms.values_list("content_type__app_label", "codename").order_by()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache
