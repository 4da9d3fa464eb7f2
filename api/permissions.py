"""Access decided by Django permissions, never by role names."""

from __future__ import annotations

from rest_framework.permissions import BasePermission


def has_perm(*names: str, any_of: bool = False) -> type[BasePermission]:
    """A DRF permission class requiring all (or any) of the named Django permissions."""

    class HasPerm(BasePermission):
        message = "You do not have permission to do this."

        def has_permission(self, request, view) -> bool:
            user = request.user
            if not (user and user.is_authenticated):
                return False
            checks = (user.has_perm(name) for name in names)
            return any(checks) if any_of else all(checks)

    HasPerm.__name__ = f"HasPerm({', '.join(names)})"
    return HasPerm
