from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

from clinic.accounts import roles, services
from clinic.accounts.models import DonorProfile, LoginThrottle, User
from clinic.audit import services as audit


class DonorProfileInline(admin.StackedInline):
    model = DonorProfile
    can_delete = False
    readonly_fields = ("donor_code",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [DonorProfileInline]
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("Contact", {"fields": ("phone",)}))
    list_display = ("username", "email", "phone", "is_active", "is_staff")


@admin.register(LoginThrottle)
class LoginThrottleAdmin(admin.ModelAdmin):
    list_display = ("username", "address", "failures", "locked_until", "succeeded_at", "updated")
    search_fields = ("username",)


# Our permissions' names in the reader's language (the database keeps them in English, as
# Django stores them when it creates them).
PERMISSION_LABELS = {
    "accounts.manage_users": _("Can create staff, room manager and admin accounts"),
    "accounts.manage_roles": _("Can assign permissions to roles"),
    "bookings.book": _("Can book a slot for himself"),
    "bookings.view_all_bookings": _("Can see all bookings"),
    "bookings.view_donor_identity": _("Can see donors' names, phone and ID numbers"),
    "bookings.manage_bookings": _("Can cancel, reschedule, book on behalf and close sessions"),
    "bookings.review_donation": _("Can review donation bookings"),
    "bookings.review_room": _("Can review room bookings"),
    "bookings.manage_donors": _("Can change a donor's status (qualified, retest due, suspended...)"),
    "outreach.manage_promotions": _("Can manage promotions and answer consultations"),
    "payments.manage_payments": _("Can manage fee items and confirm payments at the desk"),
    "rooms.manage_rooms": _("Can manage rooms, opening hours, closures and door QR codes"),
    "rooms.operate_doors": _("Can open a door manually"),
}
BUILTIN = {"add": _("Can add %s"), "change": _("Can change %s"), "delete": _("Can delete %s"), "view": _("Can view %s")}


def permission_label(permission: Permission) -> str:
    """ "app | what it allows", translated: ours by name, Django's four by action and model."""
    app = permission.content_type.app_label
    action, _sep, model_name = permission.codename.partition("_")
    model = permission.content_type.model_class()
    if action in BUILTIN and model is not None and model_name == permission.content_type.model:
        text = str(BUILTIN[action]) % model._meta.verbose_name
    else:
        text = str(PERMISSION_LABELS.get(f"{app}.{permission.codename}", permission.name))
    return f"{model._meta.app_config.verbose_name if model else app} | {text}"


class RoleAdmin(GroupAdmin):
    """Roles are groups: a change of a role's permissions made here is audited like one made
    through the API (role.permissions_changed), with who made it. A role is found by its name,
    so a role's name is not edited here and a role is not deleted."""

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "name") if obj is not None and obj.name in roles.ROLES else fields

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.name in roles.ROLES:
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "permissions" and field is not None:
            field.label_from_instance = permission_label  # type: ignore[method-assign,assignment]
        return field

    def save_related(self, request, form, formsets, change):
        group = form.instance
        before = set(services.permission_names(group)) if change else set()
        super().save_related(request, form, formsets, change)
        after = set(services.permission_names(group))
        if before != after:
            audit.record(
                "role.permissions_changed",
                actor=request.user,
                object_type="auth.group",
                object_id=group.pk,
                data={
                    "role": group.name,
                    "added": sorted(after - before),
                    "removed": sorted(before - after),
                    "via": "admin",
                },
            )


admin.site.unregister(Group)
admin.site.register(Group, RoleAdmin)
