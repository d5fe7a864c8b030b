"""allauth's seams: how sign-up and social sign-in behave on this site."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import render

from . import selectors
from .models import User


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return bool(settings.ACCOUNT_ALLOW_SIGNUPS)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: object) -> bool:
        return bool(settings.ACCOUNT_ALLOW_SIGNUPS)

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: Any) -> User:
        """allauth fills first/last name, which our User does not have; keep the full name."""
        user: User = super().populate_user(request, sociallogin, data)
        max_length = User._meta.get_field("name").max_length or 150
        user.name = _display_name(sociallogin.account.extra_data or {}, data)[:max_length]
        return user

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        """Explain, instead of pretending to send an email, when a provider's address
        belongs to an account this provider may not sign into.

        allauth has by now matched the login to its account (by provider uid, or by a
        verified email where the provider's `email_authentication` allows). Left unmatched
        with an address in use, allauth would answer "we sent you an email" and send
        nothing useful; the person needs to sign in another way and connect the provider.
        """
        if sociallogin.is_existing or request.user.is_authenticated:
            return
        if sociallogin.state.get("process") == "connect":
            return
        email = next(
            (e for e in _emails(sociallogin) if selectors.email_in_use(email=e)),
            None,
        )
        if email is None:
            return
        verified = any(a.verified and a.email.lower() == email for a in sociallogin.email_addresses)
        response = render(
            request,
            "socialaccount/email_in_use.html",
            {"provider": sociallogin.provider, "email": email, "verified": verified},
            status=409,
        )
        raise ImmediateHttpResponse(response)


def _display_name(extra_data: dict[str, Any], common: dict[str, Any]) -> str:
    """The name a provider shows for the person. allauth's `name` is Discord's handle and
    absent for Microsoft, whose display names are `global_name` and `displayName`."""
    full_name = " ".join(
        part for part in (common.get("first_name"), common.get("last_name")) if part
    )
    for candidate in (
        extra_data.get("global_name"),
        extra_data.get("displayName"),
        common.get("name"),
        full_name,
    ):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return ""


def _emails(sociallogin: SocialLogin) -> list[str]:
    """Every address the provider gave, verified or not, lower-cased, each once."""
    found = [a.email for a in sociallogin.email_addresses]
    if sociallogin.user is not None and sociallogin.user.email:
        found.append(sociallogin.user.email)
    return list(dict.fromkeys(e.strip().lower() for e in found if e))
