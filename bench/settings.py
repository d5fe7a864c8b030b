"""Benchmark settings: production settings, plus the benchmark's own views.

bench/run.py sets the required variables (a throwaway SECRET_KEY, its own database
and Redis db) before anything imports this.
"""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
SECURE_SSL_REDIRECT = False  # wrk speaks plain HTTP on loopback; no proxy in front
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
