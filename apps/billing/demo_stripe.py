"""The offline demo Stripe: stripe-python's HTTP client, answered from local JSON.

Why: `make run` needs no Stripe account, yet the demo goes through dj-stripe's real
code: its sync, and its webhook view, which verifies the signature and then re-fetches
the event's object from the API. So a local run without a Stripe key talks to this
client instead of api.stripe.com. It answers reads (GET) from two sources:

- the demo catalog (`fixtures/demo_catalog.json`: the account, products, features,
  prices), which never changes;
- a state file (`DEMO_STRIPE_STATE`) with the demo member's customer and subscription
  and the events sent about them, which `manage.py demo_billing` writes and
  `manage.py demo_subscription` changes.

Everything else (Checkout, the Portal, any write) gets a Stripe-shaped error, so
nothing pretends to take a payment. The state is a file, not memory, because the demo
commands run in another process than the server, and every gunicorn worker must see
a change when dj-stripe re-fetches the subscription. Writers take a lock and replace
the file atomically, so readers never see half a file.

Never in production: base settings hard-code `DEMO_STRIPE = False` and only
`config/settings/local.py` turns it on (when no Stripe test key is set);
`BillingConfig.ready` installs the client only with DEBUG on; and the billing.E005
system check refuses `DEMO_STRIPE` without DEBUG or in live mode.
"""

import fcntl
import functools
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe
from django.conf import settings

CATALOG = Path(__file__).with_name("fixtures") / "demo_catalog.json"
# A syntactically valid test key that only ever reaches this client (local settings use
# it as STRIPE_TEST_SECRET_KEY while DEMO_STRIPE is on).
DEMO_API_KEY = "sk_test_tollgateOfflineDemoCatalog0000"
# URL resource -> the `object` value of what it lists.
RESOURCES = {
    "customers": "customer",
    "subscriptions": "subscription",
    "products": "product",
    "prices": "price",
    "events": "event",
}
Response = tuple[str, int, dict[str, str]]


@functools.cache
def catalog() -> dict[str, Any]:
    """The demo catalog as Stripe-shaped JSON (products keep our `_features` list)."""
    data: dict[str, Any] = json.loads(CATALOG.read_text())
    return data


class DemoStore:
    """The demo's Stripe objects: the fixed catalog plus the state file at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def state(self) -> dict[str, dict[str, Any]]:
        try:
            objects: dict[str, dict[str, Any]] = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return objects

    def objects(self) -> list[dict[str, Any]]:
        """Every object, as the API shows it (without the catalog's own `_` keys)."""
        fixed = catalog()
        return [
            {k: v for k, v in obj.items() if not k.startswith("_")}
            for obj in [fixed["account"], *fixed["products"], *fixed["prices"]]
        ] + list(self.state().values())

    def get(self, object_id: str) -> dict[str, Any] | None:
        return next((obj for obj in self.objects() if obj["id"] == object_id), None)

    def put(self, *objects: dict[str, Any]) -> None:
        """Store (or replace) objects by id, visible to every process at once."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self.state()
            state.update({obj["id"]: obj for obj in objects})
            fd, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(fd, "w") as out:
                json.dump(state, out, indent=1)
            os.replace(temporary, self.path)

    def listed(self, object_name: str, query: dict[str, str]) -> list[dict[str, Any]]:
        if object_name == "event":
            return []  # every demo event was delivered by the command that made it
        found = [obj for obj in self.objects() if obj.get("object") == object_name]
        if "customer" in query:
            found = [obj for obj in found if obj.get("customer") == query["customer"]]
        if query.get("active") == "true":
            found = [obj for obj in found if obj.get("active")]
        return found

    def features(self, product_id: str) -> list[dict[str, Any]]:
        fixed = catalog()
        product = next((p for p in fixed["products"] if p["id"] == product_id), None)
        return [
            {
                "id": f"prodft_{product_id}_{key}",
                "object": "product_feature",
                "livemode": False,
                "entitlement_feature": fixed["features"][key],
            }
            for key in (product or {}).get("_features", [])
        ]


class DemoStripeClient(stripe.HTTPClient):
    """Answers GETs from a DemoStore, the way Stripe's API would; refuses the rest."""

    name = "tollgate-demo-stripe"

    def __init__(self, store: DemoStore) -> None:
        super().__init__()
        self.store = store

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> Response:
        parts = urlsplit(url)
        path = parts.path.removeprefix("/v1/")
        if method != "get":
            return _error(
                400,
                f"The offline demo Stripe only answers reads, not {method.upper()} /v1/{path}. "
                "Set STRIPE_TEST_SECRET_KEY to use Stripe's test mode.",
            )
        if path == "account":
            return _ok(catalog()["account"])
        segments = path.split("/")
        if len(segments) == 3 and segments[0] == "products" and segments[2] == "features":
            return _list(self.store.features(segments[1]), parts.path)
        object_name = RESOURCES.get(segments[0])
        if object_name and len(segments) == 1:
            return _list(self.store.listed(object_name, dict(parse_qsl(parts.query))), parts.path)
        if object_name and len(segments) == 2:
            obj = self.store.get(segments[1])
            if obj is not None and obj.get("object") == object_name:
                return _ok(obj)
            return _error(404, f"No such {object_name}: '{segments[1]}'", code="resource_missing")
        return _error(404, f"The offline demo Stripe does not know /v1/{path}.")

    def request_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _ok(body: dict[str, Any]) -> Response:
    return json.dumps(body), 200, {"Request-Id": "req_demo"}


def _list(data: list[dict[str, Any]], url: str) -> Response:
    return _ok({"object": "list", "data": data, "has_more": False, "url": url})


def _error(status: int, message: str, *, code: str | None = None) -> Response:
    body = {"error": {"type": "invalid_request_error", "message": message, "code": code}}
    return json.dumps(body), status, {"Request-Id": "req_demo"}


def store() -> DemoStore:
    """The demo store at DEMO_STRIPE_STATE."""
    return DemoStore(settings.DEMO_STRIPE_STATE)


@contextmanager
def offline(demo_store: DemoStore) -> Iterator[None]:
    """Answer every Stripe call in this block from `demo_store` (the demo loaders' sync)."""
    previous = stripe.default_http_client
    stripe.default_http_client = DemoStripeClient(demo_store)
    try:
        yield
    finally:
        stripe.default_http_client = previous


def install() -> None:
    """Make the demo store this process's Stripe (local runs with DEMO_STRIPE and DEBUG)."""
    stripe.default_http_client = DemoStripeClient(store())
