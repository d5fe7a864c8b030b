"""Top-level routes: each app owns its own urls module."""

from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from apps.accounts.tokens import views as tokens
from apps.billing.api import session_introspect, token_me
from apps.billing.webhook_guard import stripe_webhook

# Admin sign-in goes through allauth, so it is rate-limited and asks for MFA too.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Tollgate administration"

urlpatterns = [
    path("", include("apps.core.urls")),
    path("", include("apps.web.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("billing/", include("apps.billing.urls")),
    path("api/session", session_introspect, name="api_session"),
    # API clients: allauth headless (/_allauth/app/v1/..., /_allauth/browser/v1/...), the
    # token-gated API, and what anyone needs to verify our access tokens.
    path("_allauth/", include("allauth.headless.urls")),
    path("api/v1/me", token_me, name="api_v1_me"),
    path(".well-known/jwks.json", tokens.jwks, name="tokens_jwks"),
    path(".well-known/openid-configuration", tokens.openid_configuration, name="tokens_openid"),
    # For other services: RFC 7662 introspection and RFC 7009 revocation (apps/services).
    path("oauth/", include("apps.services.urls")),
    # dj-stripe's webhook endpoint: /stripe/webhook/<uuid>/ (see `manage.py billing_setup`),
    # behind a guard that refuses what Stripe never sends before dj-stripe stores it.
    path("stripe/webhook/<uuid:uuid>/", stripe_webhook, name="stripe_webhook"),
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
    path(settings.ADMIN_URL, admin.site.urls),
]
