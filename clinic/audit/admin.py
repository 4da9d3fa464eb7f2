from django.contrib import admin

from clinic.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created", "actor_label", "action", "object_type", "object_id", "outcome", "reason")
    list_filter = ("action", "outcome")
    search_fields = ("actor_label", "object_id", "request_id", "reason")
    date_hierarchy = "created"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
