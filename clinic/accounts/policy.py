"""Every permission decision the product makes, by name.

Views, serializers, services and the booking flow ask these predicates instead of calling
`user.has_perm` themselves, so what each decision rests on is read (and changed) here alone.
Access is decided by Django permissions, never by role names: `roles.DEFAULT_PERMISSIONS`
only says which permissions each role holds by default, and an administrator may change that.

Each predicate takes the request's user, anonymous included, and is False for a visitor, an
inactive account and anyone without the permission; an active superuser holds every permission.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from clinic.accounts.models import User

    Actor = User | AnonymousUser

# The two reviews of a booking ("staff", "room") and the permission each takes; the booking
# flow's review tasks are declared with these (`BookingFlow.staff_review` and `.room_review`).
REVIEW_PERMISSIONS: dict[str, str] = {
    "staff": "bookings.review_donation",
    "room": "bookings.review_room",
}


def _holds(user: Actor, permission: str) -> bool:
    return bool(user.is_authenticated and user.has_perm(permission))


# --- accounts -----------------------------------------------------------------------------


def can_manage_users(user: Actor) -> bool:
    """Create staff and client accounts. By default: system administrators."""
    return _holds(user, "accounts.manage_users")


def can_manage_roles(user: Actor) -> bool:
    """Read and change which permissions each role holds. By default: system administrators."""
    return _holds(user, "accounts.manage_roles")


# --- bookings -----------------------------------------------------------------------------


def can_book(user: Actor) -> bool:
    """Book a collection slot for oneself. By default: donors and self-preservation clients."""
    return _holds(user, "bookings.book")


def can_manage_bookings(user: Actor) -> bool:
    """Book on a donor's behalf, reschedule, close a session, cancel anyone's booking.
    By default: staff."""
    return _holds(user, "bookings.manage_bookings")


def can_see_all_bookings(user: Actor) -> bool:
    """See every booking, not only one's own (donor codes only, see `can_see_donor_identity`).
    By default: staff and room managers."""
    return _holds(user, "bookings.view_all_bookings")


def can_see_donor_identity(user: Actor) -> bool:
    """See who a donor is (real name, phone, history) beside his donor code. By default: staff."""
    return _holds(user, "bookings.view_donor_identity")


def can_manage_donors(user: Actor) -> bool:
    """Move a donor along his journey (qualify him, mark his retest due, suspend, retire).
    By default: staff."""
    return _holds(user, "bookings.manage_donors")


def can_find_donors(user: Actor) -> bool:
    """Search donors by code, phone or name: only who may see their identity. By default: staff."""
    return can_see_donor_identity(user)


def can_review(user: Actor, kind: str) -> bool:
    """Do one kind of booking review: "staff" (the donation review) or "room" (the room review).
    By default: staff do the donation review, room managers the room review."""
    return _holds(user, REVIEW_PERMISSIONS[kind])


def can_review_any(user: Actor) -> bool:
    """Approve or reject review tasks of at least one kind. By default: staff and room managers."""
    return any(can_review(user, kind) for kind in REVIEW_PERMISSIONS)


def can_see_review_tasks(user: Actor) -> bool:
    """Open the task inbox and the task pages: reviewers and whoever sees all bookings.
    By default: staff and room managers."""
    return can_see_all_bookings(user) or can_review_any(user)


# --- rooms and doors ----------------------------------------------------------------------


def can_manage_rooms(user: Actor) -> bool:
    """Create and change rooms, opening hours, closures and door codes; see inactive rooms and
    rooms' hardware details. By default: staff."""
    return _holds(user, "rooms.manage_rooms")


def can_open_door_manually(user: Actor) -> bool:
    """Unlock a room's door from the console, outside a donor's own session. By default: staff."""
    return _holds(user, "rooms.operate_doors")


def can_see_room_board(user: Actor) -> bool:
    """Read the live room board (free, booked, in use, alarmed; donor codes only).
    By default: staff and room managers."""
    return can_see_all_bookings(user)


def can_watch_room_board(user: Actor) -> bool:
    """Hear each room's occupancy change live (room.state: a room and its state, no donor):
    whoever reads the room board, and the room managers."""
    return can_see_room_board(user) or _holds(user, "bookings.review_room")


# --- staff pages --------------------------------------------------------------------------


def can_open_staff_console(user: Actor) -> bool:
    """Open the staff console: whoever sees all bookings, manages bookings or manages rooms.
    By default: staff and room managers."""
    return can_see_all_bookings(user) or can_manage_bookings(user) or can_manage_rooms(user)


def can_open_room_console(user: Actor) -> bool:
    """Open the room managers' console: room reviewers and whoever sees all bookings.
    By default: staff and room managers."""
    return can_review(user, "room") or can_see_all_bookings(user)


# --- outreach -----------------------------------------------------------------------------


def can_manage_promotions(user: Actor) -> bool:
    """Publish promotions and see all of them with their read counts. By default: staff."""
    return _holds(user, "outreach.manage_promotions")


def can_answer_consultations(user: Actor) -> bool:
    """See every client's question (not only one's own) and answer it. By default: staff."""
    return _holds(user, "outreach.manage_promotions")


def can_see_consultation_askers(user: Actor) -> bool:
    """See who asked a question and his phone: those who answer questions and may see donors'
    identities. By default: staff."""
    return can_answer_consultations(user) and can_see_donor_identity(user)


# --- payments -----------------------------------------------------------------------------


def can_manage_payments(user: Actor) -> bool:
    """Change the price list (inactive fee items included), see every payment order and confirm
    payments at the desk. By default: staff."""
    return _holds(user, "payments.manage_payments")


def can_pay_fees(user: Actor) -> bool:
    """Open a payment order for a fee. By default: donors and self-preservation clients."""
    return _holds(user, "bookings.book")
