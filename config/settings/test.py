"""Tests: real Postgres and Redis, on their own database and Redis db number."""

from .base import *  # noqa: F403
from .base import CACHES, REDIS_KEY_PREFIX, env

# Redis db 15 and its own prefix keep test keys away from a developer's data;
# tests flush this db between cases.
TEST_REDIS_URL = env("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")
for _alias in CACHES.values():
    _alias["LOCATION"] = TEST_REDIS_URL
    _alias["KEY_PREFIX"] = f"{REDIS_KEY_PREFIX}-test"

# Owed invalidations are looked for only after a Redis error here, so query counts stay
# exact; tests of the periodic look set their own interval.
REDIS_REPLAY_INTERVAL = 3600.0
SESSION_SEEN_SEND_INTERVAL = 0.0  # sent after each request (test_last_seen.py batches)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None  # nothing is collected outside production
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Stripe: syntactically valid keys that only ever reach the in-process fake Stripe API.
STRIPE_LIVE_MODE = False
STRIPE_TEST_SECRET_KEY = "sk_test_tollgateFakeStripeKey000000000"  # noqa: S105
STRIPE_TEST_PUBLIC_KEY = "pk_test_tollgateFakeStripeKey000000000"
STRIPE_WEBHOOK_SECRET = "whsec_tollgate_test_secret"  # noqa: S105
SITE_URL = "http://testserver"
