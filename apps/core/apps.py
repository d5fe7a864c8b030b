from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Cross-cutting plumbing: request logging, health endpoints, the error family."""

    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started
        from django.test.signals import setting_changed

        from . import (
            checks,  # noqa: F401 - checks register themselves
            csp,
        )
        from .db_router import request_reset
        from .near_cache import reset
        from .state import subjects

        setting_changed.connect(reset, dispatch_uid="near_cache_reset")
        setting_changed.connect(subjects.reset, dispatch_uid="state_subjects_reset")
        setting_changed.connect(csp.reset, dispatch_uid="csp_policy_reset")
        # What a request wrote pins its later reads to the primary; the next starts clean.
        request_started.connect(request_reset, dispatch_uid="db_router_request_reset")
        request_finished.connect(request_reset, dispatch_uid="db_router_request_finished")
