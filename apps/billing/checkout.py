"""Checkout rules: one free trial per customer, one open Checkout Session per customer,
and what a returning Checkout Session's state means for the member."""

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q
from djstripe.models import Customer, Subscription

from apps.accounts.models import User

from . import stripe_api

# An open session about to expire is not worth reusing: the member would land on an
# expired page. Stripe's sessions last 24 hours by default.
REUSE_MIN_SECONDS_LEFT = 10 * 60


def _had_trial(data: Any) -> bool:
    return bool(data.get("trial_start") or data.get("trial_end"))


def trial_used(*, user: User, customer_id: str) -> bool:
    """Has this member ever had a trial, by our rows or by Stripe's own list?

    Our rows cover every customer the member ever had (a deleted one keeps its
    subscriber id in its metadata); Stripe's list (status=all, canceled included)
    covers subscriptions whose webhooks never reached us.
    """
    customers = Customer.objects.filter(
        Q(subscriber=user) | Q(metadata__djstripe_subscriber=str(user.pk)),
        livemode=settings.STRIPE_LIVE_MODE,
    )
    local = Subscription.objects.filter(customer__in=customers)
    if any(_had_trial(subscription.stripe_data) for subscription in local):
        return True
    return any(_had_trial(data) for data in stripe_api.subscriptions_list(customer_id=customer_id))


def open_session_url(*, customer_id: str, price_id: str) -> str | None:
    """The URL of the customer's open Checkout for this price; other open ones are expired.

    So two tabs share one session (which completes once), and a tab for another plan
    cannot complete after a newer Checkout started. Call under the customer's lock.
    """
    reusable = None
    deadline = time.time() + REUSE_MIN_SECONDS_LEFT
    for session in stripe_api.checkout_sessions_open(customer_id=customer_id):
        same_price = (session.get("metadata") or {}).get("tollgate_price_id") == price_id
        fresh = int(session.get("expires_at") or 0) > deadline
        if reusable is None and same_price and fresh and session.get("url"):
            reusable = str(session["url"])
        else:
            stripe_api.checkout_session_expire(session["id"])
    return reusable


@dataclass(frozen=True)
class CheckoutOutcome:
    """Where a Checkout Session the member came back from stands.

    `state`: "open" (not finished, nothing charged), "expired", "processing" (finished,
    payment not yet confirmed), "trialing" or "active".
    """

    state: str
    subscription: Subscription | None


def checkout_state(session: Any, subscription: Subscription | None) -> str:
    status = session.get("status")
    if status in ("open", "expired"):
        return str(status)
    if session.get("payment_status") == "unpaid":
        return "processing"
    sub_status = subscription.stripe_data.get("status") if subscription else None
    if sub_status == "trialing":
        return "trialing"
    return "active" if sub_status in (None, "active") else "processing"
