from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Config(AppConfig):
    name = "clinic.notifications"
    verbose_name = _("Notifications")
    label = "notifications"
    default_auto_field = "django.db.models.BigAutoField"
