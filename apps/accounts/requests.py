"""The request as a view behind `LoginRequiredMixin` sees it: typing only.

django-stubs types `request.user` as "a user or AnonymousUser"; after the login check it
is our User, and saying so once here spares every view a cast.
"""

from django.http import HttpRequest

from .models import User


class AuthenticatedRequest(HttpRequest):
    """Never instantiated: annotate a view's `request` with it once sign-in is required."""

    user: User  # narrowed: LoginRequiredMixin ran first
