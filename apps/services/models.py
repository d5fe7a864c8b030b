"""A service: another program (any language) that asks Tollgate about tokens.

It authenticates with HTTP Basic (`client_id:secret`, RFC 7662 §2.1). Only a digest of
the secret is stored (credentials.py says why a fast one); the secret itself is shown
once, when it is issued, and never again.
"""

from django.db import models


class Service(models.Model):
    name = models.CharField(max_length=100, unique=True)
    client_id = models.CharField(max_length=40, unique=True, editable=False)
    secret_digest = models.CharField(max_length=64, editable=False)
    # After a rotation the old secret keeps working until this moment (the overlap),
    # so the service can be redeployed with the new one without an outage.
    previous_secret_digest = models.CharField(max_length=64, blank=True, editable=False)
    previous_secret_valid_until = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(default=True, editable=False)
    may_revoke = models.BooleanField(
        default=False,
        help_text="May end members' sessions through /oauth/revoke.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
