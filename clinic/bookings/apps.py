from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Config(AppConfig):
    name = "clinic.bookings"
    verbose_name = _("Bookings")
    label = "bookings"
    default_auto_field = "django.db.models.BigAutoField"
