"""Token settings parsed once, with errors that name the variable to fix."""

import re
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ALGORITHM = "RS256"  # why not EdDSA: docs/architecture.md, "How a team and a token plug in"
ACCESS_TYPE = "at+jwt"  # RFC 9068: resource servers refuse anything else as an access token
REFRESH_TYPE = "rt+jwt"  # never accepted where an access token is expected
# An RS256 token with our claims is about 800 characters; anything far larger is refused
# before it is parsed (a header is not a place for a megabyte of base64).
MAX_LENGTH = 4096
LEEWAY = 5  # seconds of clock difference tolerated between our own hosts
KEYS_RELOAD_INTERVAL = 60  # seconds a process trusts its copy of the key set
JWKS_MAX_AGE = 300  # seconds relying parties may cache /.well-known/jwks.json

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(variable: str, *, minimum: int) -> int:
    return _parsed(variable, str(getattr(settings, variable)), minimum)


@cache  # on the verification path; keyed on the value, so a changed setting is obeyed
def _parsed(variable: str, value: str, minimum: int) -> int:
    match = _DURATION.match(value)
    if not match:
        raise ImproperlyConfigured(
            f"{variable}={value!r} is not a duration; use e.g. 900, 15m, 12h or 30d."
        )
    amount, unit = match.groups()
    seconds = int(amount) * _UNITS[unit]
    if seconds < minimum:
        raise ImproperlyConfigured(f"{variable}={value!r} must be at least {minimum} seconds.")
    return seconds


def access_lifetime() -> int:
    """Seconds an access token lives (TOKENS_ACCESS_LIFETIME, 15 minutes by default)."""
    return _seconds("TOKENS_ACCESS_LIFETIME", minimum=30)


def refresh_lifetime() -> int:
    """Seconds a refresh token lives (TOKENS_REFRESH_LIFETIME, 30 days by default)."""
    seconds = _seconds("TOKENS_REFRESH_LIFETIME", minimum=60)
    try:
        shorter = seconds <= access_lifetime()
    except ImproperlyConfigured:
        shorter = False  # reported for its own variable
    if shorter:
        raise ImproperlyConfigured(
            f"TOKENS_REFRESH_LIFETIME={settings.TOKENS_REFRESH_LIFETIME!r} must be longer "
            f"than TOKENS_ACCESS_LIFETIME={settings.TOKENS_ACCESS_LIFETIME!r}."
        )
    return seconds


def issuer() -> str:
    """`iss` of every token: TOKENS_ISSUER, else SITE_URL (no trailing slash)."""
    return str(settings.TOKENS_ISSUER or settings.SITE_URL).rstrip("/")


def audience() -> str:
    """`aud` of access tokens: TOKENS_AUDIENCE, else `<issuer>/api/`."""
    return str(settings.TOKENS_AUDIENCE or f"{issuer()}/api/")


def publish_ahead() -> int:
    """Seconds a new key is published before it signs, so that every relying party that
    cached the JWKS and every one of our processes knows it before meeting a token."""
    return JWKS_MAX_AGE + KEYS_RELOAD_INTERVAL


def publish_after() -> int:
    """Seconds a key stays published after its successor starts signing: until the last
    access token it signed expires (another process may sign with it a reload later)."""
    return access_lifetime() + KEYS_RELOAD_INTERVAL + LEEWAY
