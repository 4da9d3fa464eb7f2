"""What each kind of notification says. Discreet: these lines show on lock screens, so no
clinic or service name in a title, and no person is ever named (donors appear as codes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Text:
    title: Promise
    body: Promise
    # Also sent by e-mail / SMS (besides the live push): what a person must not miss.
    outward: bool = False


TEXTS: dict[str, Text] = {
    "booking.requested": Text(_("New request to review"), _("{code}: {when}, {room}.")),
    "room.requested": Text(_("New room request"), _("{code}: {when}, {room}.")),
    "booking.reviewed": Text(_("Appointment update"), _("Your appointment on {when} has been reviewed.")),
    "booking.approved": Text(
        _("Appointment confirmed"), _("Your appointment on {when} in {room} is confirmed."), outward=True
    ),
    "booking.rejected": Text(
        _("Appointment not confirmed"), _("Your appointment on {when} could not be confirmed. {reason}"), outward=True
    ),
    "booking.expired": Text(
        _("Request lapsed"),
        _("Your request for {when} was not confirmed in time. Please choose another time."),
        outward=True,
    ),
    "booking.no_show": Text(
        _("Appointment missed"), _("Your appointment on {when} was missed and has been released."), outward=True
    ),
    "booking.reminder": Text(_("Reminder"), _("Your appointment starts at {when}, {room}."), outward=True),
    "booking.completed": Text(_("Visit complete"), _("Thank you. Your visit on {when} is complete.")),
    "booking.changed": Text(
        _("Appointment changed"), _("Your appointment has been changed: {when}. {reason}"), outward=True
    ),
    "room.overstay": Text(_("Room still in use"), _("{room}: {code} has passed the end time ({end}).")),
    "door.held_open": Text(_("Door left open"), _("The door of {room} has been open for {minutes} min.")),
    "relay.offline": Text(
        _("Door lock not answering"),
        _("The lock board of {rooms} ({board}) does not answer: these doors cannot be opened by scanning."),
        outward=True,
    ),
    "relay.back": Text(
        _("Door lock answering again"), _("The lock board of {rooms} ({board}) answers again after {minutes} min.")
    ),
    "donor.status": Text(_("Account update"), _("Your account has been updated."), outward=True),
    "slot.offered": Text(
        _("A time is free for you"),
        _("{when} is free and kept for you for {minutes} min. Open the app to book it."),
        outward=True,
    ),
    "consultation.answered": Text(_("You have a reply"), _("Open the app to read the reply to your question.")),
    "promotion": Text(_("News"), _("{title}")),
}

# The same event seen by someone other than the booking's donor (staff).
OTHERS: dict[str, Text] = {
    "booking.completed": Text(_("Session complete"), _("{code}: {when}, {room} is complete.")),
}

# booking.reviewed says which of the two reviews ended how (context "review" and "decision").
REVIEWED: dict[tuple[str, str], Promise] = {
    ("staff", "approved"): _("Your appointment on {when}: the appointment check is complete."),
    ("room", "approved"): _("Your appointment on {when}: the room check is complete."),
    ("staff", "rejected"): _("Your appointment on {when} could not be confirmed."),
    ("room", "rejected"): _("Your appointment on {when} could not be confirmed."),
}


# booking.changed says what someone else changed (context "change"), then the reason.
CHANGED: dict[str, Promise] = {
    "booked": _("An appointment was booked for you: {when}, {room}. {reason}"),
    "cancelled": _("Your appointment on {when} has been cancelled. {reason}"),
    "moved": _("Your appointment has been moved to {when}, {room}. {reason}"),
    "closed": _("Your visit on {when} has been ended by the staff. {reason}"),
}

# donor.status says what the new status lets him do (context "status").
DONOR_STATUS: dict[str, Promise] = {
    "applicant": _("Please book your first visit."),
    "qualified": _("Your check is complete: you can now book your regular visits."),
    "retest_due": _("A follow-up check is due: please book it."),
    "suspended": _("Your bookings are paused for now. Please ask us about it."),
    "retired": _("Your account no longer takes bookings. Thank you for your help."),
}


class _Blanks(dict):
    """A placeholder without a value renders empty instead of breaking the caller's transaction."""

    def __missing__(self, key: str) -> str:
        return ""


def render(kind: str, context: dict[str, Any], *, for_donor: bool = True) -> tuple[str, str]:
    """Title and body in the site's language: the caller's language (a staff member's browser)
    says nothing about the recipient's."""
    text = TEXTS[kind] if for_donor else OTHERS.get(kind, TEXTS[kind])
    template = text.body
    if kind == "booking.reviewed":
        template = REVIEWED.get((str(context.get("review")), str(context.get("decision"))), template)
    if kind == "booking.changed":
        template = CHANGED.get(str(context.get("change")), template)
    if kind == "donor.status":
        template = DONOR_STATUS.get(str(context.get("status")), template)
    with translation.override(settings.LANGUAGE_CODE):
        values = _Blanks({key: str(value) for key, value in context.items()})
        if context.get("reason"):
            values["reason"] = _("Reason: {reason}").format(reason=context["reason"])
        title = str(text.title).format_map(values)
        body = " ".join(str(template).format_map(values).split())
    return title[:120], body[:500]
