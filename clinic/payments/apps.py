from django.apps import AppConfig


class Config(AppConfig):
    name = "clinic.payments"
    label = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from clinic.payments import checks  # noqa: F401  (registers the system checks)
