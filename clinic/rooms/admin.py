"""Admin: the relay boards. How a board is spoken to (framing, mode) is changed here for every
module behind its address, through the rooms service (validated, audited); a board's address
and its rooms' channels are set with each room's lock (staff pages, API)."""

from __future__ import annotations

from django.contrib import admin

from clinic.rooms import services
from clinic.rooms.models import RelayModule


@admin.register(RelayModule)
class RelayModuleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "framing", "mode", "offline_since", "last_probe_at"]
    list_filter = ["framing", "mode"]
    fields = ["host", "port", "unit", "framing", "mode", "offline_since", "last_probe_at", "last_error"]
    readonly_fields = ["host", "port", "unit", "offline_since", "last_probe_at", "last_error"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        services.configure_board(actor=request.user, relay=obj, mode=obj.mode, framing=obj.framing)
