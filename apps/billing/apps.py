from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Stripe (through dj-stripe), webhooks, and the Access decision."""

    name = "apps.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        import stripe
        from django.conf import settings

        from apps.core import state

        from . import checks, webhooks  # noqa: F401 - checks register themselves
        from .access import cache as access_cache

        # stripe-python's default for calls that name no version (dj-stripe's product
        # features fetch is one): the pinned version, never the library's own.
        stripe.api_version = settings.STRIPE_API_VERSION
        webhooks.connect()
        state.register(access_cache.SLOT)
        # Local runs without a Stripe key only; see demo_stripe's docstring.
        if settings.DEMO_STRIPE and settings.DEBUG:
            from . import demo_stripe

            demo_stripe.install()
