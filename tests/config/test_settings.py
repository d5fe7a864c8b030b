"""Settings load in each mode; production refuses to start without its secrets."""

import os
import subprocess
import sys

import pytest

from tests.settings_process import PRODUCTION_ENV, ROOT, django_process


def _django(module: str, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return django_process(code, module=module, **env)


@pytest.mark.parametrize(
    ("module", "debug"),
    [("config.settings.local", True), ("config.settings.test", False)],
)
def test_settings_load_with_no_variables_set(module, debug):
    result = _django(module, "from django.conf import settings; print(settings.DEBUG)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(debug)


def test_production_settings_load_with_every_secret_set():
    result = _django(
        "config.settings.production",
        "from django.conf import settings; print(settings.DEBUG, settings.SESSION_COOKIE_NAME)",
        **PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False __Host-sessionid"


@pytest.mark.parametrize("missing", sorted(PRODUCTION_ENV))
def test_production_settings_refuse_to_start_naming_the_missing_variable(missing):
    present = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _django("config.settings.production", "pass", **present)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr.splitlines()[-1]


def test_production_ignores_debug_from_the_environment():
    result = _django(
        "config.settings.production",
        "from django.conf import settings; print(settings.DEBUG)",
        DEBUG="true",
        **PRODUCTION_ENV,
    )
    assert result.stdout.strip() == "False"


def test_deploy_check_is_clean_with_production_settings():
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    clean.update(PRODUCTION_ENV, DJANGO_SETTINGS_MODULE="config.settings.production")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("value", "count"), [(None, "0"), ("1", "1"), ("2", "2")])
def test_trusted_proxy_count_comes_from_the_environment(value, count):
    env = {"TRUSTED_PROXY_COUNT": value} if value is not None else {}
    result = _django(
        "config.settings.test",
        "from django.conf import settings; print(settings.ALLAUTH_TRUSTED_PROXY_COUNT)",
        **env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == count
