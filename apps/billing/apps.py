from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Stripe (through dj-stripe), webhooks, and the Access decision."""

    name = "apps.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from django.conf import settings

        from . import checks, webhooks  # noqa: F401 - checks register themselves

        webhooks.connect()
        # Local runs without a Stripe key only; see demo_stripe's docstring.
        if settings.DEMO_STRIPE and settings.DEBUG:
            from . import demo_stripe

            demo_stripe.install()
