"""Authentication that refuses a locked account, right password included; permissions in one query."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import connection

from clinic.accounts import services
from clinic.accounts.models import User


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
        cached on the user object for the request like Django's. It runs on nearly every
        request, so it is written as SQL (no queryset to build and compile each time)."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                rows = Permission.objects.values_list("content_type__app_label", "codename")
            else:
                with connection.cursor() as cursor:
                    cursor.execute(_permissions_sql(connection.vendor), [user_obj.pk, user_obj.pk])
                    rows = cursor.fetchall()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache


class PermissionTables(NamedTuple):
    """The quoted names of the tables behind permissions, for the hand-written queries on them."""

    permission: str
    content_type: str
    user_permissions: str
    group_permissions: str
    user_groups: str


def permission_tables() -> PermissionTables:
    quote = connection.ops.quote_name
    return PermissionTables(
        permission=quote(Permission._meta.db_table),
        content_type=quote(ContentType._meta.db_table),
        user_permissions=quote(User.user_permissions.through._meta.db_table),
        group_permissions=quote(Group.permissions.through._meta.db_table),
        user_groups=quote(User.groups.through._meta.db_table),
    )


@functools.cache
def _permissions_sql(vendor: str) -> str:
    # Identifiers come from the models' metadata, quoted; the user id is a parameter. Two indexed
    # lookups on the link tables; an OR across joins of both would scan them.
    t = permission_tables()
    return " ".join(
        [
            f"SELECT ct.app_label, p.codename FROM {t.permission} p",  # noqa: S608
            f"JOIN {t.content_type} ct ON ct.id = p.content_type_id",
            f"WHERE p.id IN (SELECT up.permission_id FROM {t.user_permissions} up WHERE up.user_id = %s)",  # noqa: S608
            f"OR p.id IN (SELECT gp.permission_id FROM {t.group_permissions} gp",  # noqa: S608
            f"JOIN {t.user_groups} ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s)",
        ]
    )
