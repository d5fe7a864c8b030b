"""The request as AccessMiddleware leaves it: typing only.

The middleware attaches `access` and `subscription` (both lazy); views and the gating
helpers annotate their request with these classes instead of ignoring the attributes.
"""

from django.http import HttpRequest
from djstripe.models import Subscription

from apps.accounts.requests import AuthenticatedRequest

from .rules import Access


class AccessRequest(HttpRequest):
    """Any request after AccessMiddleware, signed in or not. Never instantiated."""

    access: Access
    subscription: Subscription | None


class MemberRequest(AuthenticatedRequest, AccessRequest):
    """A signed-in member's request after AccessMiddleware. Never instantiated."""
