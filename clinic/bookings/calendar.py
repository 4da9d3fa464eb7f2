"""A booking as a calendar file (RFC 5545): discreet, so that a phone's calendar, often shared
or synced, shows an appointment at a time and nothing that names the clinic or the service."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from clinic.bookings.models import Booking, Status


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    """Lines of at most 75 octets, continued with a leading space (RFC 5545 3.1)."""
    out: list[str] = []
    current = ""
    for char in line:
        limit = 75 if not out else 74
        if len((current + char).encode()) > limit:
            out.append(current)
            current = char
        else:
            current += char
    out.append(current)
    return [out[0], *(" " + part for part in out[1:])]


def uid(booking: Booking) -> str:
    """Stable per booking (an updated file replaces the event) and opaque: no host name."""
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:calendar:{booking.pk}".encode()).hexdigest()[:32]
    return f"{digest}@appointment"


def ics(booking: Booking) -> str:
    """The calendar file of one booking: its time only, as "Appointment" in the site's language;
    cancelled once the booking is over without a visit."""
    with translation.override(settings.LANGUAGE_CODE):
        summary = _("Appointment")
    cancelled = booking.status in (Status.CANCELLED, Status.REJECTED, Status.EXPIRED, Status.NO_SHOW)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//appointment//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{uid(booking)}",
        f"DTSTAMP:{_utc(timezone.now())}",
        f"LAST-MODIFIED:{_utc(booking.updated)}",
        f"SEQUENCE:{int(booking.updated.timestamp())}",
        f"DTSTART:{_utc(booking.start)}",
        f"DTEND:{_utc(booking.end)}",
        f"SUMMARY:{_text(summary)}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED' if booking.status != Status.PENDING else 'TENTATIVE'}",
        "TRANSP:OPAQUE",
        "CLASS:PRIVATE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(part + "\r\n" for line in lines for part in _fold(line))
