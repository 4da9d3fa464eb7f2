from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Config(AppConfig):
    name = "clinic.outreach"
    verbose_name = _("Promotions and questions")
    label = "outreach"
    default_auto_field = "django.db.models.BigAutoField"
