from clinic.accounts.models import User
from clinic.audit.models import AuditEvent

BODY = {"username": "newstaff", "password": "a-Long-pass-2026", "role": "staff", "phone": "13911112222"}


def test_an_admin_creates_a_staff_account(people, client_for):
    response = client_for(people.adam).post("/api/users/", BODY, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["roles"] == ["staff"]
    user = User.objects.get(username="newstaff")
    assert user.has_perm("bookings.review_donation")
    assert AuditEvent.objects.filter(action="account.created", actor=people.adam, object_id=str(user.pk)).exists()


def test_an_admin_creates_room_managers_and_admins(people, client_for):
    client = client_for(people.adam)
    assert (
        client.post("/api/users/", BODY | {"username": "rm2", "role": "room_manager"}, format="json").status_code == 201
    )
    assert (
        client.post("/api/users/", BODY | {"username": "ad2", "role": "system_admin"}, format="json").status_code == 201
    )


def test_it_refuses_client_roles_and_unknown_roles(people, client_for):
    client = client_for(people.adam)
    for role in ("donor", "superuser"):
        response = client.post("/api/users/", BODY | {"role": role}, format="json")
        assert response.status_code == 400
    assert not User.objects.filter(username="newstaff").exists()


def test_staff_cannot_create_accounts(people, client_for):
    response = client_for(people.sam).post("/api/users/", BODY, format="json")
    assert response.status_code == 403
    assert not User.objects.filter(username="newstaff").exists()
