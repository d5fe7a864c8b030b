"""The same stack with Django's stock AuthenticationMiddleware (a user query per request)."""

from bench.settings import *  # noqa: F403
from bench.settings import MIDDLEWARE

MIDDLEWARE = [
    "django.contrib.auth.middleware.AuthenticationMiddleware"
    if name == "apps.accounts.middleware.CachedAuthenticationMiddleware"
    else name
    for name in MIDDLEWARE
]
