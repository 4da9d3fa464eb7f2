from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group

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
