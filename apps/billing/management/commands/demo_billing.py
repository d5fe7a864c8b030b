"""Load the local demo's billing: the plan catalog, the webhook endpoint, a paying member."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts import selectors as accounts_selectors
from apps.billing import demo, services


class Command(BaseCommand):
    help = (
        "Local demo billing, offline: Free/Pro/Team plans, the webhook endpoint, and an "
        "active Pro subscription for the demo member (run demo_users first)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even when DEBUG is off (never in production)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("demo_billing is for local use (DEBUG=True); refusing to run.")
        member = accounts_selectors.user_for_email(settings.DEMO_MEMBER_EMAIL)
        if member is None:
            raise CommandError(
                f"No demo member {settings.DEMO_MEMBER_EMAIL} yet: run `manage.py demo_users`."
            )
        self.stdout.write("Loading the demo plan catalog ...")
        count = demo.catalog_load_demo(progress=lambda line: self.stdout.write(f"  {line}"))
        self.stdout.write(self.style.SUCCESS(f"Demo catalog ready ({count} objects)."))
        if settings.STRIPE_WEBHOOK_SECRET:
            endpoint, _ = services.webhook_endpoint_ensure(base_url=settings.SITE_URL)
            self.stdout.write(f"Webhook endpoint: {endpoint.url}")
        else:
            self.stdout.write("No STRIPE_WEBHOOK_SECRET: skipped the webhook endpoint.")
        self.stdout.write(f"Subscribing {member.email} to Pro (monthly) ...")
        subscription = demo.member_subscription_ensure(user=member)
        self.stdout.write(
            self.style.SUCCESS(f"Demo subscription {subscription.id} is {subscription.status}.")
        )
