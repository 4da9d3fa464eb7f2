"""Domain errors raised by services; the API maps each kind to a status code in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class DomainError(Exception):
    """A rule of the clinic refused the action. `code` is stable and machine-readable."""

    code = "refused"
    # Lazy (gettext_lazy) messages stay lazy: the API renders them in the request's language.
    default_message: StrOrPromise = "The action was refused."

    def __init__(
        self,
        message: StrOrPromise | None = None,
        *,
        code: str | None = None,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message: StrOrPromise = message or self.default_message
        if code:
            self.code = code
        self.fields = fields or {}
        # More of the answer's body, beside detail and code (e.g. the bookings a closure affects).
        self.extra = extra or {}
        super().__init__(self.message)


class Invalid(DomainError):
    """The request is malformed or names something that is not valid (400)."""

    code = "invalid"


class NotFound(DomainError):
    """The object does not exist or the caller may not know it exists (404)."""

    code = "not_found"
    default_message: StrOrPromise = "Not found."


class Forbidden(DomainError):
    """The caller is identified but not allowed to do this (403)."""

    code = "forbidden"
    default_message: StrOrPromise = "You are not allowed to do this."


class Conflict(DomainError):
    """The action conflicts with the current state (409)."""

    code = "conflict"


class Locked(DomainError):
    """Too many attempts; try later (429)."""

    code = "locked"


class Unavailable(DomainError):
    """A dependency (relay, provider) did not answer; nothing was changed (503)."""

    code = "unavailable"
