from django.apps import AppConfig


class Config(AppConfig):
    name = "workflows"
    label = "workflows"

    def ready(self) -> None:
        # Viewflow finds flows by import; load BookingFlow at start-up.
        from workflows import flows  # noqa: F401
