from django.contrib import admin

from clinic.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created", "recipient", "kind", "title", "booking", "delivered_at", "read_at")
    list_filter = ("kind",)
    search_fields = ("recipient__username", "title")
    date_hierarchy = "created"
    raw_id_fields = ("recipient", "booking")
    readonly_fields = ("created", "delivered_at", "read_at")
