from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Config(AppConfig):
    name = "clinic.rooms"
    verbose_name = _("Rooms")
    label = "rooms"
    default_auto_field = "django.db.models.BigAutoField"
