"""Entry points that change bookings. Each runs inside the booking process."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from clinic.accounts.models import User
from clinic.bookings import services as booking_services
from clinic.bookings.models import Booking


def request_booking(*, actor: User, donor: User, room_id: int, start: datetime) -> Booking:
    """A donor (or staff on his behalf) books a slot and a room; the reviews begin."""
    with transaction.atomic():
        return booking_services.create_booking(donor=donor, room_id=room_id, start=start, actor=actor)
