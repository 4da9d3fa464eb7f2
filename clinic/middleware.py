"""Request id: every request carries one, echoed in X-Request-ID and stamped on audit events."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from clinic.audit.context import current_request_id

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class ContentSecurityPolicyMiddleware:
    """A Content-Security-Policy on every response. Pages run only scripts from this site or
    carrying this request's nonce: ours, the admin's, the task inbox's and the login pages
    (Django's admin and Viewflow ship no inline script; tests/browser/test_csp.py runs them under
    it). The API docs (drf-spectacular's Swagger UI) start from an inline script of their own and
    are the one place allowed inline scripts, still limited to this site."""

    RELAXED_PREFIXES = ("/api/docs/",)

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        import secrets

        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        if request.path.startswith(self.RELAXED_PREFIXES):
            scripts = "'self' 'unsafe-inline'"
        else:
            scripts = f"'self' 'nonce-{nonce}'"
        response.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; "
            f"script-src {scripts}; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; "
            "font-src 'self' data:; "
            "connect-src 'self' ws: wss:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response
