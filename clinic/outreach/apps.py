from django.apps import AppConfig


class Config(AppConfig):
    name = "clinic.outreach"
    label = "outreach"
    default_auto_field = "django.db.models.BigAutoField"
