"""The room board (clinic.rooms.board)."""

from datetime import timedelta

from django.utils import timezone

from clinic.rooms import board
from tests import factories as f


def test_the_board_never_shows_one_booking_as_now_and_next(people, db):
    room = f.room("Room A")
    now = timezone.now()
    # alice came early: her session runs before her slot starts.
    alice = f.booking(people.alice, room, now + timedelta(minutes=5), status="in_progress", checked_in_at=now)
    bob = f.booking(people.bob, room, now + timedelta(minutes=35), status="approved")
    [line] = board.room_board(now)
    assert line["state"] == "in_use"
    assert line["current"] == alice and line["next"] == bob
