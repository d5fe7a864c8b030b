"""Local development: `make run` and `make dev`. Never deployed."""

from .base import *  # noqa: F403
from .base import STRIPE_TEST_SECRET_KEY, STRIPE_WEBHOOK_SECRET, env

DEBUG = env.bool("DEBUG", default=True)
# Serve static files straight from static/ so local runs need no collectstatic.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None  # nothing is collected outside production
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# Without a Stripe test key, Stripe is the offline demo Stripe (apps/billing/demo_stripe.py):
# the demo catalog, the demo member's subscription and the webhooks that
# `manage.py demo_subscription` sends all work with no Stripe account. Its key and
# webhook secret reach nothing but this machine.
# (An empty DEMO_STRIPE, as in a copied .env.example, counts as unset.)
DEMO_STRIPE = (
    env.bool("DEMO_STRIPE") if env("DEMO_STRIPE", default="") else not STRIPE_TEST_SECRET_KEY
)
if DEMO_STRIPE:
    STRIPE_TEST_SECRET_KEY = "sk_test_tollgateOfflineDemoCatalog0000"  # noqa: S105
    STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET or "whsec_tollgate_local_demo"
