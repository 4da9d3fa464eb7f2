from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Config(AppConfig):
    name = "clinic.payments"
    verbose_name = _("Payments")
    label = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from clinic.payments import checks  # noqa: F401  (registers the system checks)
