"""The same stack with Django's stock sessions and AuthenticationMiddleware: a Redis GET
for the session and a user query per request."""

from bench.settings import *  # noqa: F403
from bench.settings import MIDDLEWARE

MIDDLEWARE = [
    "django.contrib.auth.middleware.AuthenticationMiddleware"
    if name == "apps.accounts.middleware.CachedAuthenticationMiddleware"
    else name
    for name in MIDDLEWARE
]
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"  # reads Tollgate's sessions too
