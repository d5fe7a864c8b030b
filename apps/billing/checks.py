"""Start-up checks: billing misconfiguration fails early, naming the variable to set."""

import re
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch

from . import conf, pages

_KEY_FORMAT = {
    "secret": re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9]{24,}$"),
    "public": re.compile(r"^pk_(test|live)_[A-Za-z0-9]{24,}$"),
    "webhook": re.compile(r"^whsec_[A-Za-z0-9_]+$"),
}


def _required_in_live_mode() -> dict[str, str]:
    return {
        "STRIPE_LIVE_SECRET_KEY": "secret",
        "STRIPE_LIVE_PUBLIC_KEY": "public",
        "STRIPE_WEBHOOK_SECRET": "webhook",
    }


@register("billing")
def check_stripe_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    if settings.STRIPE_LIVE_MODE:
        errors += [
            Error(
                f"STRIPE_LIVE_MODE is on but {name} is not set.",
                hint=f"Set {name} from your Stripe dashboard, or turn STRIPE_LIVE_MODE off.",
                id="billing.E001",
            )
            for name in _required_in_live_mode()
            if not getattr(settings, name)
        ]
    formats = {
        "STRIPE_TEST_SECRET_KEY": "secret",
        "STRIPE_TEST_PUBLIC_KEY": "public",
        **_required_in_live_mode(),
    }
    for name, kind in formats.items():
        value = getattr(settings, name)
        if value and not _KEY_FORMAT[kind].match(value):
            errors.append(
                Error(
                    f"{name} does not look like a Stripe {kind} key.",
                    hint=f"Copy {name} again from the Stripe dashboard.",
                    id="billing.E002",
                )
            )
    try:
        conf.past_due_grace()
    except ImproperlyConfigured as exc:
        errors.append(Error(str(exc), id="billing.E003"))
    try:
        conf.webhook_rejection_rate()
    except ImproperlyConfigured as exc:
        errors.append(Error(str(exc), id="billing.E004"))
    return errors


@register("billing")
def check_demo_stripe(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The offline demo Stripe answers as if payments worked: local runs only."""
    from .demo_stripe import DEMO_API_KEY

    if not settings.DEMO_STRIPE:
        return []
    reasons = {
        "DEBUG is off": not settings.DEBUG,
        "STRIPE_LIVE_MODE is on": settings.STRIPE_LIVE_MODE,
        "STRIPE_TEST_SECRET_KEY is a real key": settings.STRIPE_TEST_SECRET_KEY != DEMO_API_KEY,
    }
    return [
        Error(
            f"DEMO_STRIPE is on but {reason}: the offline demo Stripe is for local runs only.",
            hint="Unset DEMO_STRIPE (it is on by default only in config.settings.local "
            "without STRIPE_TEST_SECRET_KEY).",
            id="billing.E005",
        )
        for reason, applies in reasons.items()
        if applies
    ]


@register("billing", "urls")
def check_billing_pages(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Each page billing redirects to (BILLING_PAGES) resolves, before a member meets it."""
    configured = getattr(settings, "BILLING_PAGES", {})
    errors: list[CheckMessage] = []
    for page in pages.PAGES:
        try:
            pages.url(page)
        except (KeyError, NoReverseMatch):
            errors.append(
                Error(
                    f"BILLING_PAGES[{page!r}] = {configured.get(page)!r} does not resolve.",
                    hint=f"Set BILLING_PAGES[{page!r}] to a URL name or path of the site's "
                    f"{page} page.",
                    id="billing.E006",
                )
            )
    return errors
