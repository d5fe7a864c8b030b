"""Sync the plan catalog (products, their features, prices) from Stripe."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.billing import selectors, services
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
        offered = sum(len(plan.prices) for plan in selectors.plans_for_pricing())
        if prices and not offered:
            # Only prices marked sellable may be sold; say so rather than show empty pricing.
            self.stdout.write(
                self.style.WARNING(
                    "No price is offered: add the metadata sellable=true in Stripe to each "
                    "price you sell, then run this command again."
                )
            )
