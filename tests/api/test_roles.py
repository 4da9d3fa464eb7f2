import pytest
from django.contrib.auth.models import Group

from clinic.audit.models import AuditEvent


def test_an_admin_lists_roles_and_their_permissions(people, client_for):
    response = client_for(people.adam).get("/api/roles/")
    assert response.status_code == 200
    roles = {role["name"]: role["permissions"] for role in response.json()}
    assert set(roles) == {"system_admin", "staff", "room_manager", "donor", "self_preservation"}
    assert roles["room_manager"] == ["bookings.review_room", "bookings.view_all_bookings"]
    assert roles["donor"] == ["bookings.book"]


def test_removing_a_permission_refuses_the_next_request_then_restoring_it_allows(people, client_for):
    admin = client_for(people.adam)
    staff = client_for(people.sam)
    # staff hold no accounts permission by default; grant, use, revoke, check.
    response = admin.put(
        "/api/roles/staff/permissions/",
        {
            "permissions": [
                *client_for(people.adam).get("/api/roles/").json()[1]["permissions"],
                "accounts.manage_users",
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert "accounts.manage_users" in response.json()["permissions"]
    body = {"username": "x1", "password": "a-Long-pass-2026", "role": "room_manager"}
    assert staff.post("/api/users/", body, format="json").status_code == 201

    kept = [p for p in response.json()["permissions"] if p != "accounts.manage_users"]
    assert admin.put("/api/roles/staff/permissions/", {"permissions": kept}, format="json").status_code == 200
    refused = staff.post("/api/users/", body | {"username": "x2"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"

    restored = admin.put(
        "/api/roles/staff/permissions/", {"permissions": [*kept, "accounts.manage_users"]}, format="json"
    )
    assert restored.status_code == 200
    assert staff.post("/api/users/", body | {"username": "x3"}, format="json").status_code == 201
    changes = AuditEvent.objects.filter(action="role.permissions_changed", actor=people.adam)
    assert changes.count() == 3
    assert changes.first().data["added"] == ["accounts.manage_users"]


def test_a_donor_losing_book_is_refused_at_once(people, client_for):
    admin = client_for(people.adam)
    assert admin.put("/api/roles/donor/permissions/", {"permissions": []}, format="json").status_code == 200
    assert client_for(people.alice).get("/api/me/").json()["permissions"] == []
    assert not Group.objects.get(name="donor").permissions.exists()


def test_unknown_permissions_and_roles_are_refused_and_nothing_changes(people, client_for):
    admin = client_for(people.adam)
    response = admin.put("/api/roles/donor/permissions/", {"permissions": ["bookings.fly"]}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_permission"
    assert list(Group.objects.get(name="donor").permissions.values_list("codename", flat=True)) == ["book"]
    response = admin.put("/api/roles/pilot/permissions/", {"permissions": []}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_role"
    response = admin.put("/api/roles/donor/permissions/", {"permissions": "bookings.book"}, format="json")
    assert response.status_code == 400


def test_the_last_role_manager_cannot_remove_himself(people, client_for):
    response = client_for(people.adam).put(
        "/api/roles/system_admin/permissions/", {"permissions": ["accounts.manage_users"]}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "last_role_manager"
    assert Group.objects.get(name="system_admin").permissions.filter(codename="manage_roles").exists()


def test_only_role_managers_see_roles(people, client_for):
    for user in (people.alice, people.sam, people.rita):
        assert client_for(user).get("/api/roles/").status_code == 403
        assert (
            client_for(user).put("/api/roles/donor/permissions/", {"permissions": []}, format="json").status_code == 403
        )
    assert Group.objects.get(name="donor").permissions.count() == 1


def test_the_django_admin_can_change_a_roles_permissions(people, client):
    from django.contrib.auth.models import Permission

    superuser = type(people.adam).objects.create_superuser("root", password="x-Long-pass-2026")
    client.force_login(superuser)
    group = Group.objects.get(name="room_manager")
    keep = Permission.objects.get(codename="view_all_bookings")
    response = client.post(f"/admin/auth/group/{group.pk}/change/", {"name": "renamed", "permissions": [keep.pk]})
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.name == "room_manager"  # a role's name is not edited there: roles are found by it
    assert client.post(f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"}).status_code == 403
    assert list(group.permissions.values_list("codename", flat=True)) == ["view_all_bookings"]
    # Audited like a change through the API: who, which role, what was added and removed.
    event = AuditEvent.objects.get(action="role.permissions_changed")
    assert (event.actor, event.object_id, event.data["role"], event.data["via"]) == (
        superuser,
        str(group.pk),
        "room_manager",
        "admin",
    )
    assert event.data["added"] == [] and "bookings.review_room" in event.data["removed"]
    # Saving it unchanged records nothing.
    client.post(f"/admin/auth/group/{group.pk}/change/", {"name": "room_manager", "permissions": [keep.pk]})
    assert AuditEvent.objects.filter(action="role.permissions_changed").count() == 1


@pytest.mark.zh
def test_the_admin_role_editor_names_permissions_in_chinese(people, client):
    superuser = type(people.adam).objects.create_superuser("root", password="x-Long-pass-2026")
    client.force_login(superuser)
    group = Group.objects.get(name="staff")
    html = client.get(f"/admin/auth/group/{group.pk}/change/").content.decode()
    assert "可以查看所有预约" in html or "查看所有预约" in html  # "Can see all bookings"
    assert "Can see all bookings" not in html
    assert "Can view booking" not in html
