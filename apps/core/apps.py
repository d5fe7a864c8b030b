from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Cross-cutting plumbing: request logging, health endpoints, the error family."""

    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from django.test.signals import setting_changed

        from . import checks  # noqa: F401 - checks register themselves
        from .near_cache import reset
        from .state import subjects

        setting_changed.connect(reset, dispatch_uid="near_cache_reset")
        setting_changed.connect(subjects.reset, dispatch_uid="state_subjects_reset")
