from django.apps import AppConfig


class Config(AppConfig):
    name = "api"
    label = "api"

    def ready(self) -> None:
        from clinic import logredact

        logredact.install()
