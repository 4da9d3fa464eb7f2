from django.apps import AppConfig


class Config(AppConfig):
    name = "clinic.bookings"
    label = "bookings"
    default_auto_field = "django.db.models.BigAutoField"
