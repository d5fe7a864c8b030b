"""Heal missed webhooks: re-sync subscriptions from Stripe and replay undelivered events."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.billing import reconcile
from apps.billing.conf import parse_duration
from apps.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Re-sync customers' subscriptions from Stripe and replay undelivered events."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customer", help="Only this Stripe customer id (cus_...).")
        parser.add_argument(
            "--since",
            default="3d",
            help="Replay undelivered events created within this window (e.g. 12h, 3d; max 30d).",
        )
        parser.add_argument(
            "--no-events", action="store_true", help="Only re-sync customers, replay nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        window = parse_duration(options["since"], variable="--since")
        if window > timedelta(days=30):
            raise CommandError(
                "--since can reach back 30 days at most (Stripe keeps events 30 days)."
            )
        progress = self.stdout.write
        try:
            self.stdout.write("Re-syncing customers from Stripe ...")
            count = reconcile.customers_reconcile(
                customer_id=options["customer"], progress=progress
            )
            self.stdout.write(self.style.SUCCESS(f"Reconciled {count} customer(s)."))
            if options["no_events"]:
                return
            self.stdout.write(f"Replaying undelivered events from the last {options['since']} ...")
            replay = reconcile.events_replay(since=timezone.now() - window, progress=progress)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Replayed {replay.replayed} event(s); {replay.skipped} were already processed."
            )
        )
        if replay.failed:
            # Non-zero exit, so a scheduler reports it; the next run retries them.
            raise CommandError(
                f"{len(replay.failed)} event(s) failed to replay: {', '.join(replay.failed)}"
            )
