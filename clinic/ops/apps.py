from django.apps import AppConfig


class Config(AppConfig):
    """Operations: demo data, the local platform runner and the relay simulator command."""

    name = "clinic.ops"
    label = "ops"
