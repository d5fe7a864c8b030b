"""Signal receivers for services, connected in ServicesConfig.ready()."""

from typing import Any

from django.db.models.signals import post_delete, post_save

from apps.core import state

from .models import Service


def forget_cached_credential(sender: Any, instance: Service, **kwargs: Any) -> None:
    """Any change to a service (a rotation, a revocation, an admin edit) refuses its cached
    credential once the change commits; owed durably, so Redis failing delays it only."""
    if instance.client_id:
        subject = state.subjects.service(instance.client_id)
        state.invalidate_after_commit([subject], raise_errors=False)


def connect() -> None:
    post_save.connect(forget_cached_credential, sender=Service, dispatch_uid="services-saved")
    post_delete.connect(forget_cached_credential, sender=Service, dispatch_uid="services-deleted")
