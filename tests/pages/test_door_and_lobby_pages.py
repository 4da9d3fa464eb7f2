"""The pages a QR code opens: a door, the lobby, and the way back after registering."""

from clinic.accounts.models import User
from tests import factories as f


def test_the_lobby_needs_no_login_and_leads_to_booking(db, client):
    response = client.get("/d/lobby?src=flyer1")
    assert response.status_code == 200
    assert b'href="/book/?src=flyer1"' in response.content


def test_a_door_page_sends_a_visitor_to_log_in_and_back(db, client):
    room = f.room("Room A")
    response = client.get(f"/d/{room.door_token}")
    assert response.status_code == 200
    assert f"/login/?next=/d/{room.door_token}".encode() in response.content
    assert f"/register/?next=/d/{room.door_token}".encode() in response.content
    assert b"Book this room" not in response.content


def test_a_shared_door_offers_booking_too(people, client):
    room = f.room("Room A", door_qr_mode="shared")
    client.force_login(people.alice)
    response = client.get(f"/d/{room.door_token}")
    assert response.status_code == 200
    assert f'data-door="{room.door_token}"'.encode() in response.content
    assert f"/book/?room={room.pk}".encode() in response.content


def test_a_door_page_never_says_who_booked(people, client):
    room = f.room("Room A")
    f.booking(people.bob, room, f.at(f.tomorrow(), "09:00"), status="approved")
    client.force_login(people.alice)
    body = client.get(f"/d/{room.door_token}").content.decode()
    assert "bob" not in body.lower() and "Bob Li" not in body and people.bob.donor_code not in body


def test_an_unknown_or_rotated_door_code_is_a_clear_404_page(db, client):
    response = client.get("/d/" + "x" * 32)
    assert response.status_code == 404
    assert b"not valid" in response.content


def test_registering_from_a_slot_lands_back_on_it(db, client):
    back = "/book/?date=2030-01-02&start=2030-01-02T09%3A00%3A00%2B08%3A00&room=1"
    response = client.post(
        "/register/",
        {"username": "newbie", "password": "a-Long-pass-2026", "phone": "13812345678", "role": "donor", "next": back},
    )
    assert response.status_code == 302
    assert response["Location"] == back
    user = User.objects.get(username="newbie")
    assert user.donor_profile.donor_code
    assert client.get("/me/bookings/").status_code == 200


def test_register_refuses_an_outside_next_and_shows_errors(db, client):
    response = client.post(
        "/register/",
        {"username": "x", "password": "1", "phone": "no", "role": "donor", "next": "https://evil.example/"},
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="x").exists()
    response = client.post(
        "/register/",
        {
            "username": "y1",
            "password": "a-Long-pass-2026",
            "phone": "13812345678",
            "role": "donor",
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == "/book/"


def test_login_page_returns_to_the_door(people, client):
    from tests.factories import PASSWORD

    response = client.post("/login/", {"username": "alice", "password": PASSWORD, "next": "/d/lobby"})
    assert response.status_code == 302 and response["Location"] == "/d/lobby"


def test_pages_render(db, client):
    for path in ("/", "/book/", "/login/", "/register/"):
        assert client.get(path).status_code == 200, path
    assert client.get("/me/bookings/").status_code == 302


def test_the_staff_console_is_for_staff(people, client):
    client.force_login(people.sam)
    response = client.get("/staff/")
    assert response.status_code == 200
    assert b"/workflow/" in response.content and b"/api/door-qr-sheet/" in response.content
    client.force_login(people.alice)
    assert client.get("/staff/").status_code == 403
    client.logout()
    assert client.get("/staff/")["Location"] == "/login/?next=/staff/"


def test_the_room_board_is_for_room_managers_and_staff(people, client):
    client.force_login(people.rita)
    assert client.get("/rooms/").status_code == 200
    client.force_login(people.bob)
    assert client.get("/rooms/").status_code == 403


def test_the_desk_payment_page_shows_the_fee_and_nothing_personal(people, client):
    from clinic.payments.services import open_order

    booking = f.booking(
        people.carl, f.room("Room A"), f.at(f.tomorrow(), "09:00"), payment="pending", purpose="self_preservation"
    )
    order, _ = open_order(payer=people.carl, item_code="self_preservation_collection", booking_id=booking.pk)
    response = client.get(f"/pay/{order.reference}")
    assert response.status_code == 200
    body = response.content.decode()
    assert f"{order.amount_fen / 100:.2f}" in body and order.reference in body
    assert "Carl" not in body and people.carl.phone not in body and people.carl.donor_code not in body
    assert client.get("/pay/nonsense").status_code == 404
    client.force_login(people.carl)
    assert client.get("/me/payments/").status_code == 200


# --- what a tap will do ---------------------------------------------------------------------


def door_state(client, room) -> str:
    import re

    body = client.get(f"/d/{room.door_token}").content.decode()
    return re.search(r'id="door"[^>]*data-state="(\w+)"', body).group(1)


def test_the_door_page_shows_the_donor_his_slot_before_the_session(people, client):
    from django.utils import timezone

    room = f.room("Room A")
    booking = f.booking(people.alice, room, f.at(f.tomorrow(), "09:00"), status="approved")
    client.force_login(people.alice)
    body = client.get(f"/d/{room.door_token}").content.decode()
    assert door_state(client, room) == "before"
    assert f"{timezone.localtime(booking.start):%Y-%m-%d %H:%M}–{timezone.localtime(booking.end):%H:%M}" in body
    assert "The door opens for you from 08:50." in body


def test_the_door_page_offers_open_again_and_finish_during_the_session(people, client, settings):
    from datetime import timedelta

    from django.utils import timezone

    room = f.room("Room A")
    now = timezone.now()
    f.booking(people.alice, room, now, status="in_progress", checked_in_at=now)
    client.force_login(people.alice)
    body = client.get(f"/d/{room.door_token}").content.decode()
    assert door_state(client, room) == "during"
    assert 'id="again"' in body and 'id="finish"' in body and 'id="confirm"' in body
    until = timezone.localtime(now + timedelta(seconds=settings.DOOR_REPEAT_SECONDS))
    assert f'data-repeat-until="{until:%Y-%m-%dT%H:%M:%S}' in body


def test_the_door_page_says_when_the_session_finished_never_no_booking(people, client):
    from datetime import timedelta

    from django.utils import timezone

    room = f.room("Room A")
    now = timezone.now()
    f.booking(
        people.alice,
        room,
        now - timedelta(minutes=20),
        status="completed",
        checked_in_at=now - timedelta(minutes=20),
        checked_out_at=now - timedelta(minutes=3),
    )
    client.force_login(people.alice)
    body = client.get(f"/d/{room.door_token}").content.decode()
    assert door_state(client, room) == "after"
    assert f"{timezone.localtime(now - timedelta(minutes=3)):%H:%M}</strong>" in body


def test_the_door_page_tells_a_stranger_he_has_no_booking_here(people, client):
    room = f.room("Room A")
    client.force_login(people.bob)
    assert door_state(client, room) == "none"
    f.booking(people.bob, room, f.at(f.tomorrow(), "09:00"))
    assert door_state(client, room) == "waiting"
