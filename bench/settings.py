"""Benchmark settings: production settings, plus the benchmark's own views.

bench/run.py sets the required variables (a throwaway SECRET_KEY, its own database
and Redis db) before anything imports this.
"""

import os

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
SECURE_SSL_REDIRECT = False  # wrk speaks plain HTTP on loopback; no proxy in front
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
# The soak points stripe-python at the fake Stripe API it serves on loopback.
if os.environ.get("BENCH_STRIPE_API_HOST"):
    STRIPE_API_HOST = os.environ["BENCH_STRIPE_API_HOST"]
    # Deliberate here: the soak's fake Stripe API, on loopback only.
    SILENCED_SYSTEM_CHECKS = ["djstripe.W002"]
