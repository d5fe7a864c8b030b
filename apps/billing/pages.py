"""The site's pages billing sends members to, named by the project in BILLING_PAGES.

Billing sits below the web app, so it never names web's URLs itself: settings say where
"pricing", "dashboard" and "billing" live (URL names or paths, as LOGIN_REDIRECT_URL
takes), and the billing.E006 check proves each resolves before the first request.
"""

from django.conf import settings
from django.shortcuts import resolve_url

PAGES = ("pricing", "dashboard", "billing")


def url(page: str) -> str:
    """The path of one of PAGES, e.g. url("pricing") -> "/pricing/"."""
    return resolve_url(settings.BILLING_PAGES[page])
