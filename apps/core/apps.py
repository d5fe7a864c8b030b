from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Cross-cutting plumbing: request logging, health endpoints, the error family."""

    name = "apps.core"
    label = "core"
