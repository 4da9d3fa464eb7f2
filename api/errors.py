"""Every API error as {"detail", "code"} (plus "errors" per field for 400s), in one place."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from clinic.errors import Conflict, DomainError, Forbidden, Invalid, Locked, NotFound, Unavailable

logger = logging.getLogger(__name__)

DOMAIN_STATUS: dict[type[DomainError], int] = {
    Invalid: status.HTTP_400_BAD_REQUEST,
    Forbidden: status.HTTP_403_FORBIDDEN,
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    Locked: status.HTTP_429_TOO_MANY_REQUESTS,
    Unavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}


# clinic/errors.py keeps its class defaults as plain English; marked here so that they reach the
# message catalog, and looked up in the request's language by _localized().
_PLAIN_DEFAULTS = (
    gettext_noop("The action was refused."),
    gettext_noop("Not found."),
    gettext_noop("You are not allowed to do this."),
)


def _localized(message: Any) -> str:
    """A domain message as text in the active (request) language: lazy messages resolve now;
    a plain English message that is a catalog msgid is translated."""
    text = str(message)
    return _(text) if text else text


def _localized_fields(fields: dict) -> dict:
    return {
        name: [_localized(m) for m in messages] if isinstance(messages, (list, tuple)) else _localized(messages)
        for name, messages in fields.items()
    }


def domain_status(exc: DomainError) -> int:
    for kind, code in DOMAIN_STATUS.items():
        if isinstance(exc, kind):
            return code
    return status.HTTP_400_BAD_REQUEST


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = _first_message(value)
            return message if key == "non_field_errors" else f"{key}: {message}"
        return _("Invalid input.")
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else _("Invalid input.")
    return str(detail)


def error_body(detail: str, code: str, errors: dict | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": detail, "code": code}
    if errors:
        body["errors"] = errors
    return body


def _request_too_big(exc: Exception) -> tuple[dict[str, Any], int] | None:
    """Django's limits on a request (DATA_UPLOAD_MAX_MEMORY_SIZE, _NUMBER_FIELDS, _NUMBER_FILES)
    as JSON: an oversize body is a 413, too many fields or parameters a 400."""
    if isinstance(exc, RequestDataTooBig):
        return error_body(_("The request body is too large."), "too_large"), status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        return error_body(_("The request has too many fields or parameters."), "too_many_fields"), 400
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    too_big = _request_too_big(exc)
    if too_big is not None:
        return Response(too_big[0], status=too_big[1])
    if isinstance(exc, DomainError):
        body = error_body(_localized(exc.message), exc.code, _localized_fields(exc.fields))
        return Response(body | exc.extra, status=domain_status(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable: %s", exc)
        return Response(
            error_body(
                _("The service is temporarily unavailable; nothing was changed. Please retry."), "db_unavailable"
            ),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
        return Response(
            error_body(_("The request could not be completed; nothing was changed."), "db_error"),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body(_first_message(exc.detail), "invalid", errors)
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        response.data = error_body(str(exc.detail), code)
    return response


def json_404(request, exception=None):
    if not request.path.startswith("/api/"):
        from django.shortcuts import render

        return render(request, "pages/404.html", status=404)
    return JsonResponse(error_body(_("Not found."), "not_found"), status=404)


def json_400(request, exception=None):
    """A request Django refused before any view (an oversize body, too many parameters, a bad
    Host header...): JSON for the API, the page otherwise."""
    if not request.path.startswith("/api/"):
        from django.views.defaults import bad_request

        return bad_request(request, exception)
    too_big = _request_too_big(exception) if exception is not None else None
    body, code = too_big or (error_body(_("Bad request."), "bad_request"), 400)
    return JsonResponse(body, status=code)


def json_500(request) -> JsonResponse:
    return JsonResponse(error_body(_("Internal error; nothing was changed."), "server_error"), status=500)
