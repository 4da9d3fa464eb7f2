from django.apps import AppConfig


class Config(AppConfig):
    name = "clinic.payments"
    label = "payments"
    default_auto_field = "django.db.models.BigAutoField"
