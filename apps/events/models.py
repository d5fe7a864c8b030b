"""Events for other services: who receives them, what was sent, and every attempt.

An `Event` and one `Delivery` per subscribed endpoint are written in the transaction
of the change they tell of, together with the delivery's job in procrastinate's queue
(also Postgres): a change that rolls back sends nothing, and one that commits is
delivered however often a worker or a receiver fails in between.
"""

import base64
import secrets

from django.conf import settings
from django.db import models

ACCESS_CHANGED = "access.changed"
SESSION_ENDED = "session.ended"
EVENT_TYPES = {
    ACCESS_CHANGED: "access.changed: a user's Access changed",
    SESSION_ENDED: "session.ended: a signed-in session ended",
}

SECRET_PREFIX = "whsec_"  # noqa: S105 - Standard Webhooks' prefix for a base64 signing secret


def secret_generate() -> str:
    """A new signing secret: 32 random bytes, base64, as Standard Webhooks spells them."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class Endpoint(models.Model):
    """A receiver another service runs: where to POST which events, signed with `secret`."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100, default=secret_generate, editable=False)
    event_types = models.JSONField(default=list, help_text="The event types it receives.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    @property
    def secret_hint(self) -> str:
        return f"{SECRET_PREFIX}…{self.secret[-4:]}"


class Event(models.Model):
    """One thing that happened, as every receiver gets it (`body` is signed, byte for byte)."""

    id = models.CharField(primary_key=True, max_length=40)  # the webhook-id header
    type = models.CharField(max_length=40, db_index=True)
    subject = models.CharField(max_length=64, db_index=True)  # "user:42"
    body = models.TextField()
    created_at = models.DateTimeField()  # when the change happened (the payload's timestamp)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=("created_at",), name="events_event_created")]

    def __str__(self) -> str:
        return f"{self.type} {self.subject} ({self.id})"


class Delivery(models.Model):
    """One event on its way to one endpoint."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        FAILING = "failing", "failing (will retry)"
        DELIVERED = "delivered", "delivered"
        DEAD = "dead", "dead (gave up)"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # The attempt after which it is dead; "retry now" grants a fresh set of attempts.
    last_attempt = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # When it became delivered or dead (None while owed): pruning keeps it for
    # EVENTS_RETENTION_DAYS after this, and never touches one that is still owed.
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    # The queue job currently in charge; a job superseded by "retry now" does nothing.
    job_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=("event", "endpoint"), name="events_one_delivery")
        ]
        indexes = [
            # What pruning asks for, oldest first; owed deliveries are not in it.
            models.Index(
                fields=("finished_at",),
                name="events_delivery_finished",
                condition=models.Q(finished_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint}"


class Attempt(models.Model):
    """One POST of a delivery: what the receiver answered, how fast, or what went wrong."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    latency_ms = models.FloatField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("delivery", "number")

    def __str__(self) -> str:
        return f"attempt {self.number}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class AccessSent(models.Model):
    """The Access last announced for a user, so only a real change is announced."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    access = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "access announced"
        verbose_name_plural = "access announced"

    def __str__(self) -> str:
        return f"user {self.user_id}: {self.access.get('status')}"
