from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Config(AppConfig):
    name = "clinic.audit"
    verbose_name = _("Audit trail")
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"
