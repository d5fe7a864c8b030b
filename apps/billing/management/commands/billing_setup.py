"""Create or update the local webhook endpoint record and print the URL for Stripe."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.billing import services


class Command(BaseCommand):
    help = "Store the Stripe webhook endpoint (from STRIPE_WEBHOOK_SECRET) and print its URL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url", default=settings.SITE_URL, help="Public base URL (default: SITE_URL)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.STRIPE_WEBHOOK_SECRET:
            raise CommandError(
                "Set STRIPE_WEBHOOK_SECRET (the endpoint's signing secret, whsec_...) first."
            )
        endpoint, created = services.webhook_endpoint_ensure(base_url=options["base_url"])
        verb = "Created" if created else "Updated"
        mode = "live" if endpoint.livemode else "test"
        self.stdout.write(self.style.SUCCESS(f"{verb} the {mode}-mode webhook endpoint."))
        self.stdout.write("Register this URL in Stripe (Developers > Webhooks):")
        self.stdout.write(f"  {endpoint.url}")
        self.stdout.write("Events to send: " + ", ".join(services.WEBHOOK_EVENTS))
