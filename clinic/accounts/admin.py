from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from clinic.accounts.models import DonorProfile, LoginThrottle, User


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
