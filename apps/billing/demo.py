"""A demo plan catalog for local runs with no Stripe account.

The catalog goes through dj-stripe's own `sync_from_stripe_data`, exactly like data
from Stripe. The few API reads dj-stripe makes during that sync (the account, each
product's features) are answered in-process from the same JSON, so nothing leaves
the machine.
"""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import stripe
from django.db import transaction
from djstripe.models import Account, APIKey, Price, Product

CATALOG = Path(__file__).with_name("fixtures") / "demo_catalog.json"
# A syntactically valid test key that only ever reaches the offline client below.
DEMO_API_KEY = "sk_test_tollgateOfflineDemoCatalog0000"


class OfflineCatalogClient(stripe.HTTPClient):
    """Answers dj-stripe's reads during the demo sync; refuses everything else."""

    name = "tollgate-offline-catalog"

    def __init__(self, catalog: dict[str, Any]) -> None:
        super().__init__()
        self.catalog = catalog

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> tuple[str, int, dict[str, str]]:
        path = urlsplit(url).path
        if method == "get" and path == "/v1/account":
            return self._ok(self.catalog["account"])
        if method == "get" and path.startswith("/v1/products/") and path.endswith("/features"):
            product_id = path.split("/")[3]
            product = next(p for p in self.catalog["products"] if p["id"] == product_id)
            data = [
                {
                    "id": f"prodft_{product_id}_{key}",
                    "object": "product_feature",
                    "livemode": False,
                    "entitlement_feature": self.catalog["features"][key],
                }
                for key in product["_features"]
            ]
            return self._ok({"object": "list", "data": data, "has_more": False, "url": path})
        error = {"error": {"type": "invalid_request_error", "message": f"Offline: {path}"}}
        return json.dumps(error), 404, {}

    @staticmethod
    def _ok(body: dict[str, Any]) -> tuple[str, int, dict[str, str]]:
        return json.dumps(body), 200, {"Request-Id": "req_offline"}

    def request_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass


@contextmanager
def _offline(catalog: dict[str, Any]) -> Iterator[None]:
    previous = stripe.default_http_client
    stripe.default_http_client = OfflineCatalogClient(catalog)
    try:
        yield
    finally:
        stripe.default_http_client = previous


@transaction.atomic
def catalog_load_demo(*, progress: Callable[[str], None] = lambda _line: None) -> int:
    """Load Free, Pro and Team (monthly and yearly) into dj-stripe's tables. Idempotent."""
    catalog = json.loads(CATALOG.read_text())
    with _offline(catalog):
        account = Account.sync_from_stripe_data(catalog["account"], api_key=DEMO_API_KEY)
        APIKey.objects.update_or_create(
            secret=DEMO_API_KEY,
            defaults={"type": "secret", "livemode": False, "djstripe_owner_account": account},
        )
        for product in catalog["products"]:
            data = {k: v for k, v in product.items() if not k.startswith("_")}
            Product.sync_from_stripe_data(data, api_key=DEMO_API_KEY)
            progress(f"product {product['name']}")
        for price in catalog["prices"]:
            Price.sync_from_stripe_data(price, api_key=DEMO_API_KEY)
            progress(f"price {price['lookup_key']}")
    return len(catalog["products"]) + len(catalog["prices"])
