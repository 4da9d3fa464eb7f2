from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Config(AppConfig):
    """Operations: demo data, the local platform runner and the relay simulator command."""

    name = "clinic.ops"
    verbose_name = _("Operations")
    label = "ops"
