from django.apps import AppConfig


class WebConfig(AppConfig):
    """Server-rendered pages for end users."""

    name = "apps.web"
    label = "web"
