"""Writes on services: issuing, rotating and revoking their credentials.

Every save of a Service moves its cached credential's generation after commit
(receivers.py), so each of these takes effect on the next introspection.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.core.errors import ApplicationError

from . import conf, credentials
from .models import Service


@dataclass(frozen=True)
class IssuedSecret:
    """A new secret: shown to the admin once, in the answer to the request that made it."""

    service: Service
    secret: str

    def __repr__(self) -> str:  # never the secret, wherever this ends up printed
        return f"IssuedSecret(service={self.service.client_id!r}, secret='…')"


@transaction.atomic
def service_issue(*, service: Service) -> IssuedSecret:
    """Give a new, unsaved `service` its client id and first secret, and save it."""
    secret = credentials.new_secret()
    service.client_id = credentials.new_client_id()
    service.secret_digest = credentials.digest(secret)
    service.save()
    return IssuedSecret(service=service, secret=secret)


def service_create(*, name: str, may_revoke: bool = False) -> IssuedSecret:
    return service_issue(service=Service(name=name, may_revoke=may_revoke))


@transaction.atomic
def service_secret_rotate(*, service: Service, overlap: timedelta | None = None) -> IssuedSecret:
    """A new secret for `service`; the current one stays valid for `overlap`
    (SERVICES_SECRET_OVERLAP by default), an older one stops at once."""
    locked = Service.objects.select_for_update().get(pk=service.pk)
    if not locked.is_active:
        raise ApplicationError(f"{locked.name} is revoked; create a new service instead.")
    overlap = conf.secret_overlap() if overlap is None else overlap
    now = timezone.now()
    secret = credentials.new_secret()
    if overlap > timedelta(0):
        locked.previous_secret_digest = locked.secret_digest
        locked.previous_secret_valid_until = now + overlap
    else:
        locked.previous_secret_digest = ""
        locked.previous_secret_valid_until = None
    locked.secret_digest = credentials.digest(secret)
    locked.rotated_at = now
    locked.save()
    return IssuedSecret(service=locked, secret=secret)


@transaction.atomic
def service_revoke(*, service: Service) -> bool:
    """Refuse `service`'s credentials from the next request on, every secret of it.
    Final: a revoked service is not reactivated (create a new one). False if it
    already was revoked."""
    locked = Service.objects.select_for_update().get(pk=service.pk)
    if not locked.is_active:
        return False
    locked.is_active = False
    locked.revoked_at = timezone.now()
    locked.previous_secret_digest = ""
    locked.previous_secret_valid_until = None
    locked.save()
    return True
