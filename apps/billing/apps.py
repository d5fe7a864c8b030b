from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Stripe (through dj-stripe), webhooks, and the Access decision."""

    name = "apps.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from . import checks, webhooks  # noqa: F401 - checks register themselves

        webhooks.connect()
