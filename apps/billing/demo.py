"""Demo billing for local runs with no Stripe account: a plan catalog, a paying member,
and a command-line "Stripe" that changes the member's subscription by webhook.

Everything goes through dj-stripe's own code: `sync_from_stripe_data` for the catalog
and the member's subscription, and for a status change the real webhook endpoint,
with an event signed exactly as Stripe signs it. The API reads dj-stripe makes along
the way are answered by the offline demo Stripe (`demo_stripe.py`), so nothing leaves
the machine.
"""

import copy
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import stripe
from django.conf import settings
from django.db import transaction
from djstripe.models import Account, APIKey, Customer, Price, Product, Subscription

from apps.accounts.models import User
from apps.core.errors import ApplicationError

from . import demo_stripe, selectors, services
from .demo_stripe import DEMO_API_KEY

MEMBER = Path(__file__).with_name("fixtures") / "demo_member.json"
MEMBER_PRICE = "price_demo_pro_monthly"
SUBSCRIPTION_ID = "sub_demo_member"
FLIP_STATUSES = ("active", "past_due", "unpaid")
DAY = 24 * 60 * 60
# Posts a webhook: (url, body, headers) -> HTTP status.
Poster = Callable[[str, str, dict[str, str]], int]


@transaction.atomic
def catalog_load_demo(*, progress: Callable[[str], None] = lambda _line: None) -> int:
    """Load Free, Pro and Team (monthly and yearly) into dj-stripe's tables. Idempotent."""
    catalog = demo_stripe.catalog()
    with demo_stripe.offline(demo_stripe.store()):
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


@transaction.atomic
def member_subscription_ensure(*, user: User) -> Subscription:
    """Give `user` an active monthly Pro subscription, in the demo store and synced.

    Run again, it starts a fresh 30-day period and sets the status back to active.
    Needs the demo catalog (`catalog_load_demo`) first.
    """
    shapes = json.loads(MEMBER.read_text())
    now = int(time.time())
    customer = shapes["customer"]
    customer.update(created=now, email=user.email, metadata={"djstripe_subscriber": str(user.pk)})
    store = demo_stripe.store()
    item = shapes["subscription_item"]
    item.update(
        created=now,
        price=store.get(MEMBER_PRICE),
        current_period_start=now,
        current_period_end=now + 30 * DAY,
    )
    subscription = shapes["subscription"]
    subscription.update(created=now, start_date=now, billing_cycle_anchor=now, status="active")
    subscription["items"].update(data=[item], total_count=1)
    store.put(customer, subscription)
    with demo_stripe.offline(store):
        Customer.sync_from_stripe_data(customer, api_key=DEMO_API_KEY)
        # dj-stripe walks the items as a StripeObject list, as the API returns them.
        synced: Subscription = Subscription.sync_from_stripe_data(
            stripe.convert_to_stripe_object(copy.deepcopy(subscription)), api_key=DEMO_API_KEY
        )
    services.access_invalidate(user_ids=[user.pk])
    return synced


@dataclass(frozen=True)
class StatusSent:
    """A status change the demo Stripe made and the webhook it delivered about it."""

    previous: str
    status: str
    event_id: str
    url: str
    response_status: int


def subscription_status_send(
    *, status: str, post: Poster, base_url: str | None = None
) -> StatusSent:
    """Set the demo subscription's status in the demo store, then tell the server as
    Stripe would: a `customer.subscription.updated` event, signed with
    STRIPE_WEBHOOK_SECRET, posted to the URL of `billing_setup`'s endpoint row
    (`base_url` replaces its scheme and host).

    Like Stripe, the change stands even if the delivery fails; sending again re-sends.
    """
    if status not in FLIP_STATUSES:
        raise ApplicationError(f"Pick a status among {', '.join(FLIP_STATUSES)}.")
    endpoint = selectors.webhook_endpoint(livemode=False)
    if endpoint is None or not endpoint.url:
        raise ApplicationError("No webhook endpoint yet: run `manage.py demo_load` first.")
    store = demo_stripe.store()
    subscription = store.get(SUBSCRIPTION_ID)
    if subscription is None:
        raise ApplicationError("No demo subscription yet: run `manage.py demo_load` first.")
    previous = subscription["status"]
    subscription = copy.deepcopy(subscription)
    subscription["status"] = status
    now = int(time.time())
    event_id = f"evt_demo_{secrets.token_hex(8)}"
    event = {
        "id": event_id,
        "object": "event",
        "api_version": settings.STRIPE_API_VERSION,
        "created": now,
        "data": {"object": subscription, "previous_attributes": {"status": previous}},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "customer.subscription.updated",
    }
    store.put(subscription, event)
    url = _rebased(endpoint.url, base_url) if base_url else endpoint.url
    body = json.dumps(event)
    headers = {
        "Content-Type": "application/json",
        "Stripe-Signature": signature(body, secret=settings.STRIPE_WEBHOOK_SECRET, at=now),
    }
    answered = post(url, body, headers)
    return StatusSent(previous, status, event_id, url, answered)


def signature(body: str, *, secret: str, at: int) -> str:
    """The Stripe-Signature header as Stripe computes it: t=<time>,v1=HMAC-SHA256(t.body)."""
    digest = hmac.new(secret.encode(), f"{at}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def http_post(url: str, body: str, headers: dict[str, str]) -> int:
    """POST over HTTP(S) and return the status, as Stripe's delivery does."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ApplicationError(f"The webhook URL {url} is not http(s).")
    # http(s) only, checked above.
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError as exc:
        raise ApplicationError(
            f"Could not reach {url} ({exc}). Is `make run` serving? "
            "The demo Stripe has the new status; run the command again once it is."
        ) from exc


def _rebased(url: str, base_url: str) -> str:
    base = urlsplit(base_url)
    return urlunsplit(urlsplit(url)._replace(scheme=base.scheme, netloc=base.netloc))
