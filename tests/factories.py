"""Test data builders."""

from __future__ import annotations

from django.contrib.auth.models import Group

from clinic.accounts.models import DonorProfile, User

PASSWORD = "correct horse battery 9"


def client_user(
    username: str,
    *,
    role: str = "donor",
    real_name: str = "",
    phone: str = "13800000000",
    donor_status: str | None = "qualified",
) -> User:
    """A client; a donor is qualified (he books donations) unless told otherwise."""
    user = User.objects.create_user(username=username, password=PASSWORD, phone=phone)
    user.groups.add(Group.objects.get(name=role))
    purpose = "self_preservation" if role == "self_preservation" else "donation"
    status = None if role == "self_preservation" else donor_status
    DonorProfile.objects.create(user=user, real_name=real_name, id_number="", purpose=purpose, donor_status=status)
    return user


def staff_user(username: str, *, role: str) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, phone="13900000000", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def restore_roles() -> None:
    """The roles with their default permissions, as the migrations left them.

    A transactional test (real threads, workers, servers) ends with a flush of every table: a
    plain flush recreates content types and permissions but not the roles, and a flush after a
    serialized-rollback test recreates neither. Put both back."""
    from django.contrib.auth.models import Permission
    from django.core.management.sql import emit_post_migrate_signal

    from clinic.accounts.roles import DEFAULT_PERMISSIONS

    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    for role, names in DEFAULT_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for name in names:
            label, codename = name.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=label, codename=codename))


def room(name: str = "Room 1", *, coil: int = 0, relay=None, **fields):
    from clinic.rooms.models import Room

    return Room.objects.create(name=name, coil=coil, relay=relay, **fields)


def weekly_opening(room, start="08:00", end="20:00", slot_minutes=30, weekdays=(0, 1, 2, 3, 4, 5, 6)):
    from datetime import time

    from clinic.rooms.models import Opening

    h1, m1 = map(int, start.split(":"))
    h2, m2 = map(int, end.split(":"))
    return Opening.objects.create(
        room=room, weekdays=list(weekdays), start_time=time(h1, m1), end_time=time(h2, m2), slot_minutes=slot_minutes
    )


def tomorrow():
    from datetime import timedelta

    from django.utils import timezone

    return timezone.localdate() + timedelta(days=1)


def at(day, hhmm: str):
    from datetime import datetime

    from django.utils import timezone

    h, m = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=timezone.get_default_timezone())


def booking(donor, room, start, *, status="pending", minutes=30, **fields):
    from datetime import timedelta

    from clinic.bookings.models import Booking

    return Booking.objects.create(
        donor=donor, room=room, start=start, end=start + timedelta(minutes=minutes), status=status, **fields
    )
