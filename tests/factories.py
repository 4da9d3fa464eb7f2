"""Test data builders."""

from __future__ import annotations

from django.contrib.auth.models import Group

from clinic.accounts.models import DonorProfile, User

PASSWORD = "correct horse battery 9"


def client_user(username: str, *, role: str = "donor", real_name: str = "", phone: str = "13800000000") -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, phone=phone)
    user.groups.add(Group.objects.get(name=role))
    DonorProfile.objects.create(user=user, real_name=real_name, id_number="")
    return user


def staff_user(username: str, *, role: str) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, phone="13900000000", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user
