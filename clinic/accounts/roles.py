"""The five roles (Django groups) and the permissions each holds by default."""

from __future__ import annotations

SYSTEM_ADMIN = "system_admin"
STAFF = "staff"
ROOM_MANAGER = "room_manager"
DONOR = "donor"
SELF_PRESERVATION = "self_preservation"

ROLES = (SYSTEM_ADMIN, STAFF, ROOM_MANAGER, DONOR, SELF_PRESERVATION)
CLIENT_ROLES = (DONOR, SELF_PRESERVATION)
STAFF_ROLES = (SYSTEM_ADMIN, STAFF, ROOM_MANAGER)

# The contract's permission table. Code checks permissions, never these role names.
DEFAULT_PERMISSIONS: dict[str, tuple[str, ...]] = {
    SYSTEM_ADMIN: ("accounts.manage_users", "accounts.manage_roles"),
    STAFF: (
        "bookings.view_all_bookings",
        "bookings.view_donor_identity",
        "bookings.manage_bookings",
        "bookings.review_donation",
        "bookings.manage_donors",
        "rooms.manage_rooms",
        "rooms.operate_doors",
        "outreach.manage_promotions",
        "payments.manage_payments",
    ),
    ROOM_MANAGER: ("bookings.view_all_bookings", "bookings.review_room"),
    DONOR: ("bookings.book",),
    SELF_PRESERVATION: ("bookings.book",),
}


def grant_defaults_for_app(apps, app_label: str, only: tuple[str, ...] | None = None) -> None:
    """Give each role the default permissions of one app (used by data migrations); `only`: just
    these (a permission added later, leaving alone whatever an administrator changed since)."""
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config(app_label)
    # Permissions are normally created after migrations; a data migration needs them now.
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in DEFAULT_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for name in names:
            label, codename = name.split(".")
            if label != app_label or (only is not None and name not in only):
                continue
            permission = Permission.objects.filter(content_type__app_label=label, codename=codename).first()
            if permission is not None:  # None: a permission added later, granted by its own migration
                group.permissions.add(permission)
