"""Credentials never reach a log: the notification socket's `?token=` (kept for existing apps)
and `?ticket=` are blanked in the web server's access and connection lines."""

from __future__ import annotations

import logging
import re

_CREDENTIAL = re.compile(r"((?:^|[?&])(?:token|ticket)=)[^&\s\"']*", re.IGNORECASE)
# The loggers the ASGI servers write requests to (uvicorn alone, and under gunicorn).
SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error", "gunicorn.access", "gunicorn.error")


def redact(text: str) -> str:
    return _CREDENTIAL.sub(r"\1[redacted]", text)


class RedactCredentials(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install() -> None:
    """Add the filter to the servers' loggers (records are filtered where they are logged)."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCredentials) for f in logger.filters):
            logger.addFilter(RedactCredentials())
