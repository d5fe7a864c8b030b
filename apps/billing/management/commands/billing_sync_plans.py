"""Sync the plan catalog (products, their features, prices) from Stripe."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.billing import services
from apps.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Sync active Products, their features and Prices from Stripe into Postgres."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("Syncing plans from Stripe ...")
        try:
            products, prices = services.plans_sync(
                progress=lambda line: self.stdout.write(f"  {line}")
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"Synced {products} products and {prices} prices."))
