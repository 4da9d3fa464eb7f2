from clinic.audit.models import AuditEvent
from tests import factories as f


def test_staff_download_a_door_qr_as_png_and_svg(people, client_for, settings):
    room = f.room("Room A")
    client = client_for(people.sam)
    png = client.get(f"/api/rooms/{room.pk}/door-qr/")
    assert png.status_code == 200
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    svg = client.get(f"/api/rooms/{room.pk}/door-qr/?format=svg")
    assert svg.status_code == 200
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    assert client.get(f"/api/rooms/{room.pk}/door-qr/?format=gif").status_code == 400
    assert AuditEvent.objects.filter(action="room.door_qr_downloaded", actor=people.sam).count() == 2


def test_the_qr_encodes_the_door_url(people, client_for, settings):
    from clinic.rooms import qr

    room = f.room("Room A")
    assert qr.door_url(room) == f"{settings.SITE_URL}/d/{room.door_token}"
    assert qr.lobby_url("flyer-1") == f"{settings.SITE_URL}/d/lobby?src=flyer-1"


def test_others_cannot_download_door_codes(people, client_for, anon):
    room = f.room("Room A")
    for user in (people.alice, people.rita):
        assert client_for(user).get(f"/api/rooms/{room.pk}/door-qr/").status_code == 403
    assert anon.get(f"/api/rooms/{room.pk}/door-qr/").status_code == 401


def test_the_print_sheet_names_each_room_under_its_code_with_lobby_and_campaigns(people, client_for):
    f.room("Room A")
    f.room("Room B", coil=1)
    response = client_for(people.sam).get("/api/door-qr-sheet/?campaigns=flyer1,poster")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") == 5
    assert "<h2>Room A</h2>" in html and "<h2>Room B</h2>" in html and "Lobby" in html
    assert "/d/lobby?src=flyer1" in html and "/d/lobby?src=poster" in html
    assert client_for(people.sam).get("/api/door-qr-sheet/?campaigns=<script>").status_code == 400
    assert client_for(people.alice).get("/api/door-qr-sheet/").status_code == 403
