"""DRF permission classes over the decisions of `clinic.accounts.policy`.

Access is decided by Django permissions, never by role names; which permissions a decision
takes is written in the policy module alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.permissions import BasePermission

Decision = Callable[[Any], bool]


def Allow(decision: Decision, *, message: str = "You do not have permission to do this.") -> type[BasePermission]:
    """A DRF permission class letting in logged-in users for whom `decision(user)` holds,
    e.g. `permission_classes = [Allow(policy.can_manage_rooms)]`."""

    class Allowed(BasePermission):
        message: str

        def has_permission(self, request, view) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and decision(user))

    Allowed.message = message
    Allowed.__name__ = Allowed.__qualname__ = f"Allow({decision.__name__})"
    return Allowed
