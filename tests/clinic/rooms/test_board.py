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


def test_a_rooms_state_line_says_what_its_board_line_says(people, db):
    """room_state_line (what a room.state push carries) against the board, in every state."""
    now = timezone.now()
    free, booked, in_use, alarmed, closed = (f.room(name) for name in ("Free", "Booked", "In use", "Alarm", "Closed"))
    f.booking(people.alice, booked, now - timedelta(minutes=5), status="approved")
    f.booking(people.bob, in_use, now + timedelta(minutes=5), status="in_progress", checked_in_at=now)
    f.booking(people.carl, free, now + timedelta(hours=2), status="approved")  # later: still free now
    alarmed.door_alerted_at = now
    alarmed.save()
    closed.active = False
    closed.save()
    lines = {line["id"]: line for line in board.room_board(now)}
    assert {line["name"]: line["state"] for line in lines.values()} == {
        "Free": "free",
        "Booked": "booked",
        "In use": "in_use",
        "Alarm": "door_alarm",
    }
    for room in (free, booked, in_use, alarmed):
        line = lines[room.pk]
        assert board.room_state_line(room.pk, now) == {"id": room.pk, "name": line["name"], "state": line["state"]}
    assert board.room_state_line(closed.pk, now) is None
    assert board.room_state_line(2**40, now) is None
