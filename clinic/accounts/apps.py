from django.apps import AppConfig


class Config(AppConfig):
    name = "clinic.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from clinic.accounts import signals  # noqa: F401
