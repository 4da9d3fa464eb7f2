"""Each permission decision against the personas: granted to the roles that hold it by default,
refused to everyone else, visitors included; decided by permissions, never by role names."""

from __future__ import annotations

import inspect
from functools import partial

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission

from clinic.accounts import policy
from clinic.accounts.models import User
from tests import factories

CLIENTS = {"alice", "bob", "carl"}
STAFF = {"sam"}
ROOM_MANAGERS = {"rita"}
ADMINS = {"adam"}

# decision -> the personas (default role permissions) for whom it holds
EXPECTED = {
    "can_manage_users": ADMINS,
    "can_manage_roles": ADMINS,
    "can_book": CLIENTS,
    "can_manage_bookings": STAFF,
    "can_see_all_bookings": STAFF | ROOM_MANAGERS,
    "can_see_donor_identity": STAFF,
    "can_manage_donors": STAFF,
    "can_find_donors": STAFF,
    "can_review(staff)": STAFF,
    "can_review(room)": ROOM_MANAGERS,
    "can_review_any": STAFF | ROOM_MANAGERS,
    "can_see_review_tasks": STAFF | ROOM_MANAGERS,
    "can_manage_rooms": STAFF,
    "can_open_door_manually": STAFF,
    "can_see_room_board": STAFF | ROOM_MANAGERS,
    "can_watch_room_board": STAFF | ROOM_MANAGERS,
    "can_open_staff_console": STAFF | ROOM_MANAGERS,
    "can_open_room_console": STAFF | ROOM_MANAGERS,
    "can_manage_promotions": STAFF,
    "can_answer_consultations": STAFF,
    "can_see_consultation_askers": STAFF,
    "can_manage_payments": STAFF,
    "can_pay_fees": CLIENTS,
}


def _decision(name: str):
    if name.startswith("can_review("):
        return partial(policy.can_review, kind=name[len("can_review(") : -1])
    return getattr(policy, name)


def test_every_decision_is_covered():
    public = {name for name, f in inspect.getmembers(policy, inspect.isfunction) if name.startswith("can_")}
    covered = {name.split("(")[0] for name in EXPECTED}
    assert public == covered
    assert {name[len("can_review(") : -1] for name in EXPECTED if name.startswith("can_review(")} == set(
        policy.REVIEW_PERMISSIONS
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_decision_against_personas(people, django_assert_max_num_queries, name):
    decide = _decision(name)
    answers = {persona: decide(user) for persona, user in people.all().items()}
    assert all(isinstance(answer, bool) for answer in answers.values())
    assert {persona for persona, answer in answers.items() if answer} == EXPECTED[name]
    with django_assert_max_num_queries(0):
        assert decide(AnonymousUser()) is False


@pytest.mark.django_db
def test_inactive_account_holds_nothing():
    sam = factories.staff_user("sam", role="staff")
    sam.is_active = False
    sam.save()
    sam = User.objects.get(pk=sam.pk)
    assert not any(_decision(name)(sam) for name in EXPECTED)


@pytest.mark.django_db
def test_superuser_holds_everything():
    root = User.objects.create_superuser(username="root", password=factories.PASSWORD, phone="13900000009")
    assert all(_decision(name)(root) for name in EXPECTED)


@pytest.mark.django_db
def test_decided_by_permissions_not_role_names():
    # A staff account whose role lost manage_rooms may no longer manage rooms...
    staff = Group.objects.get(name="staff")
    staff.permissions.remove(Permission.objects.get(content_type__app_label="rooms", codename="manage_rooms"))
    sam = factories.staff_user("sam", role="staff")
    assert not policy.can_manage_rooms(sam)
    assert policy.can_manage_bookings(sam)
    # ...and a donor given the permission directly may.
    alice = factories.client_user("alice")
    alice.user_permissions.add(Permission.objects.get(content_type__app_label="rooms", codename="manage_rooms"))
    alice = User.objects.get(pk=alice.pk)
    assert policy.can_manage_rooms(alice)
    assert not policy.can_see_all_bookings(alice)


@pytest.mark.django_db
def test_a_users_permissions_are_read_in_one_query_with_his_own_and_his_roles(django_assert_num_queries):
    rita = factories.staff_user("rita", role="room_manager")
    rita.user_permissions.add(Permission.objects.get(codename="manage_promotions"))
    rita = User.objects.get(pk=rita.pk)
    with django_assert_num_queries(1):
        assert policy.can_review(rita, kind="room") and policy.can_manage_promotions(rita)
        assert not policy.can_manage_users(rita)
    rita.groups.clear()
    rita = User.objects.get(pk=rita.pk)
    assert policy.can_manage_promotions(rita) and not policy.can_review(rita, kind="room")
