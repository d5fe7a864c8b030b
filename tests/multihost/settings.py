"""Settings of the app hosts tests/multihost/harness.py starts: the test settings, with
Stripe's API served by the test process (its fake, over HTTP)."""

import os

from config.settings.test import *  # noqa: F403

STRIPE_API_HOST = os.environ["MULTIHOST_STRIPE_API"]
# Deliberate here: the test's fake Stripe API, reachable only from the test's hosts.
SILENCED_SYSTEM_CHECKS = ["djstripe.W002"]
# Warnings and errors (a 500's traceback) go to the host's log the harness keeps.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"level": "WARNING", "handlers": ["stderr"]},
}
