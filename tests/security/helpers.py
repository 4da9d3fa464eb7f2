"""Checks shared by the security tests: searching answers for secrets, security headers."""

from __future__ import annotations

import html
import re

# Only the API docs (Swagger UI starts from an inline script) are allowed inline scripts; every
# other response, the admin and the task inbox included, runs only this site's scripts and those
# carrying the request's nonce.
RELAXED_PREFIXES = ("/api/docs/",)


def text_of(response) -> str:
    """The body of a JSON or text answer, HTML entities decoded ("" for images)."""
    content_type = response.get("Content-Type", "")
    if not content_type.startswith(("application/json", "text/")):
        return ""
    return html.unescape(response.content.decode("utf-8", "replace"))


def found(needle: str, haystack: str) -> bool:
    """The needle as a whole token (random CSRF tokens and nonces cannot fake a donor code)."""
    if not needle:
        return False
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(needle)}(?![A-Za-z0-9])", haystack) is not None


def header_problems(response, path: str, *, hsts: bool = False, status: int | None = None) -> list[str]:
    """What is wrong with a response's security headers (empty when nothing is). `response` is
    a Django response, or a plain dict of headers with its `status`."""
    headers = {k.lower(): v for k, v in response.items()}
    status = response.status_code if status is None else status
    problems = []
    csp = headers.get("content-security-policy", "")
    for directive in ("default-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'self'"):
        if directive not in csp:
            problems.append(f"CSP lacks {directive!r}: {csp!r}")
    script_src = next((d.strip() for d in csp.split(";") if d.strip().startswith("script-src")), "")
    if not path.startswith(RELAXED_PREFIXES) and ("'unsafe-inline'" in script_src or "'nonce-" not in script_src):
        problems.append(f"script-src is not nonce-only: {script_src!r}")
    expected = {
        "x-frame-options": "DENY",
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
        "cross-origin-opener-policy": "same-origin",
    }
    if path.startswith("/api/docs/"):
        # Swagger UI's OAuth2 redirect needs a popup to talk back: drf-spectacular sets unsafe-none.
        expected.pop("cross-origin-opener-policy")
    for name, value in expected.items():
        if headers.get(name) != value:
            problems.append(f"{name}: {headers.get(name)!r} (expected {value!r})")
    if hsts:
        hsts_value = headers.get("strict-transport-security", "")
        if "max-age=31536000" not in hsts_value or "includeSubDomains" not in hsts_value:
            problems.append(f"strict-transport-security: {hsts_value!r}")
    return [f"{path} [{status}] {p}" for p in problems]
