"""Change the demo member's subscription the way Stripe would: by a signed webhook."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.billing import demo
from apps.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Set the demo member's subscription status in the offline demo Stripe and post "
        "the signed customer.subscription.updated webhook to the running server."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--status", required=True, choices=demo.FLIP_STATUSES)
        parser.add_argument(
            "--base-url",
            help="Post to this scheme and host instead of the endpoint's (default: the URL "
            "demo_load stored, i.e. SITE_URL of the `make run` that loaded it).",
        )
        parser.add_argument(
            "--force", action="store_true", help="Run even when DEBUG is off (never in production)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("demo_subscription is for local use (DEBUG=True); refusing to run.")
        if not settings.DEMO_STRIPE and not options["force"]:
            raise CommandError(
                "demo_subscription needs the offline demo Stripe (DEMO_STRIPE, on by default "
                "locally when STRIPE_TEST_SECRET_KEY is unset)."
            )
        status = options["status"]
        self.stdout.write(f"Demo Stripe: setting the demo subscription to {status} ...")
        try:
            sent = demo.subscription_status_send(
                status=status, post=demo.http_post, base_url=options["base_url"]
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"  was {sent.previous}, now {sent.status}")
        self.stdout.write(f"  posted customer.subscription.updated ({sent.event_id}) to {sent.url}")
        if not 200 <= sent.response_status < 300:
            raise CommandError(
                f"The server answered {sent.response_status}; see its log. The demo Stripe "
                "has the new status: run the command again to re-send."
            )
        verb = "opens" if status == "active" else "is closed"
        self.stdout.write(
            self.style.SUCCESS(f"The server answered {sent.response_status}: /reports/ {verb} now.")
        )
