"""Django in a child process, under the given settings module and variables: what a
server reads at start-up, for tests of settings and start-up checks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What production requires, with values that only satisfy it.
PRODUCTION_ENV = {
    "SECRET_KEY": "test-only-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/tollgate",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "tollgate.example.com",
}


def django_process(
    code: str, *, module: str = "config.settings.production", **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `code` after `django.setup()`; the parent's environment is inherited without
    DEBUG or any of PRODUCTION_ENV's variables, so only `env` sets them."""
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k != "DEBUG"}
    clean.update(env, DJANGO_SETTINGS_MODULE=module)
    return subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )
