"""Build Stripe objects (from the JSON shapes in fixtures/stripe/) and signed webhooks."""

import json
import time
from typing import Any

import stripe
from django.test import Client

from .fake_stripe import FakeStripe, fixture

DAY = 24 * 60 * 60


def product(
    fake: FakeStripe, *, key: str, name: str, features: list[str], **metadata: str
) -> dict[str, Any]:
    obj = {
        "id": f"prod_{key}",
        "object": "product",
        "active": True,
        "created": int(time.time()),
        "description": f"The {name} plan",
        "livemode": False,
        "metadata": {"plan": key, **metadata},
        "name": name,
        "type": "service",
    }
    fake.features[obj["id"]] = [
        {
            "id": f"prodft_{key}_{feature}",
            "object": "product_feature",
            "livemode": False,
            "entitlement_feature": {
                "id": f"feat_{feature}",
                "object": "entitlements.feature",
                "active": True,
                "livemode": False,
                "lookup_key": feature,
                "metadata": {},
                "name": feature.replace("_", " ").title(),
            },
        }
        for feature in features
    ]
    return fake.put(obj)


def price(
    fake: FakeStripe,
    *,
    product_id: str,
    lookup_key: str | None,
    amount: int,
    interval: str = "month",
    trial_days: int | None = None,
    sellable: bool = True,
    created: int | None = None,
) -> dict[str, Any]:
    """A recurring price; `sellable=False` leaves off the mark that lets it be sold."""
    return fake.put(
        {
            "id": f"price_{lookup_key}" if lookup_key else fake.new_id("price"),
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "created": created or int(time.time()),
            "currency": "usd",
            "livemode": False,
            "lookup_key": lookup_key,
            "metadata": {"sellable": "true"} if sellable else {},
            "nickname": None,
            "product": product_id,
            "recurring": {
                "interval": interval,
                "interval_count": 1,
                "trial_period_days": trial_days,
                "usage_type": "licensed",
            },
            "type": "recurring",
            "unit_amount": amount,
            "unit_amount_decimal": str(amount),
        }
    )


def customer(fake: FakeStripe, *, user_id: int, email: str) -> dict[str, Any]:
    obj = fixture("customer")
    obj.update(id=fake.new_id("cus"), email=email, metadata={"djstripe_subscriber": str(user_id)})
    return fake.put(obj)


def subscription(
    fake: FakeStripe,
    *,
    customer_id: str,
    price_ids: list[str],
    status: str = "active",
    period_end: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A subscription as the current API returns it: period end on each item."""
    sub_id = fields.pop("id", None) or fake.new_id("sub")
    now = int(time.time())
    end = period_end if period_end is not None else now + 30 * DAY
    items = []
    for price_id in price_ids:
        item = fixture("subscription_item")
        item.update(
            id=fake.new_id("si"),
            subscription=sub_id,
            price=fake.get(price_id),
            current_period_start=end - 30 * DAY,
            current_period_end=end,
        )
        items.append(item)
    obj = fixture("subscription")
    obj.update(id=sub_id, customer=customer_id, status=status, created=now, start_date=now)
    obj["items"].update(
        data=items, total_count=len(items), url=f"/v1/subscription_items?subscription={sub_id}"
    )
    obj.update(fields)
    return fake.put(obj)


def invoice(
    fake: FakeStripe, *, subscription_id: str, status: str = "open", **fields: Any
) -> dict[str, Any]:
    sub = fake.get(subscription_id)
    obj = fixture("invoice")
    now = int(time.time())
    obj.update(id=fake.new_id("in"), customer=sub["customer"], created=now, **fields)
    obj["status"] = status
    obj["status_transitions"] = {
        **obj["status_transitions"],
        "finalized_at": fields.get("finalized_at", now),
    }
    obj["parent"]["subscription_details"]["subscription"] = subscription_id
    fake.update(subscription_id, latest_invoice=obj["id"])
    return fake.put(obj)


def event(fake: FakeStripe, event_type: str, obj: dict[str, Any], **fields: Any) -> dict[str, Any]:
    data = fixture("event")
    data.update(
        id=fake.new_id("evt"),
        type=event_type,
        created=int(time.time()),
        data={"object": obj},
        **fields,
    )
    return fake.put(data)


def sign(body: str, *, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header exactly as Stripe computes it: t=...,v1=HMAC(t.body)."""
    return stripe.WebhookSignature.generate_signature_header(
        body, secret, timestamp=timestamp or int(time.time())
    )


def post_webhook(
    client: Client,
    url: str,
    payload: dict[str, Any] | str,
    *,
    secret: str,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """POST a webhook signed like Stripe does (override `headers` to break it)."""
    body = payload if isinstance(payload, str) else json.dumps(payload)
    sent = {"Stripe-Signature": sign(body, secret=secret, timestamp=timestamp)}
    if headers is not None:
        sent = headers
    return client.post(url, body, content_type="application/json", headers=sent)
