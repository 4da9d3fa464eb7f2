from datetime import timedelta

from django.utils import timezone

from tests import factories as f


def test_the_board_shows_states_with_donor_codes_only(people, client_for):
    _free, booked, busy, alarm = (f.room(n, coil=i) for i, n in enumerate(["A free", "B booked", "C busy", "D alarm"]))
    now = timezone.now()
    f.booking(people.alice, booked, now - timedelta(minutes=5), status="approved")
    f.booking(people.bob, busy, now - timedelta(minutes=10), status="in_progress")
    alarm.door_alerted_at = now
    alarm.save()
    response = client_for(people.rita).get("/api/rooms/status/")
    assert response.status_code == 200
    states = {room["name"]: room["state"] for room in response.json()}
    assert states == {"A free": "free", "B booked": "booked", "C busy": "in_use", "D alarm": "door_alarm"}
    text = response.content.decode()
    assert people.bob.donor_code in text and "Bob Li" not in text and "13800000002" not in text


def test_donors_cannot_see_the_board(people, client_for, anon):
    assert client_for(people.alice).get("/api/rooms/status/").status_code == 403
    assert anon.get("/api/rooms/status/").status_code == 401
