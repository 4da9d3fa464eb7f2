from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Config(AppConfig):
    name = "workflows"
    verbose_name = _("Booking processes")
    label = "workflows"

    def ready(self) -> None:
        # Viewflow finds flows by import; load BookingFlow at start-up.
        from workflows import flows  # noqa: F401
