"""What Redis owes Postgres: invalidations that must not be lost.

A change that can revoke access (a webhook's rows, a user row, an ended session)
writes an `OwedInvalidation` in its own transaction. After commit the generation in
Redis is bumped and the row deleted. When Redis fails at that moment the row stays,
and apps/core/state/ pays it before any cached value is trusted again, so an
invalidation that would have closed access is never lost, only delayed.
"""

from django.db import models


class OwedInvalidation(models.Model):
    """A subject ("user:42", "session:42:<digest>") whose cached values must be invalidated."""

    subject = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "owed cache invalidation"

    def __str__(self) -> str:
        return f"{self.subject} (owed since {self.created_at:%Y-%m-%d %H:%M:%S})"
