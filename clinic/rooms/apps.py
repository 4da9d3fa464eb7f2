from django.apps import AppConfig


class Config(AppConfig):
    name = "clinic.rooms"
    label = "rooms"
    default_auto_field = "django.db.models.BigAutoField"
