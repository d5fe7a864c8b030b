"""Writes for billing: customers, checkout, the portal, syncing, access invalidation."""

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import stripe
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from djstripe.models import Customer, Price, Product, Session, Subscription, WebhookEndpoint

from apps.accounts.models import User
from apps.core import state
from apps.core.errors import ApplicationError

from . import checkout, pages, selectors, signals, stripe_api

logger = logging.getLogger(__name__)


def access_invalidate(*, user_ids: Iterable[int | None]) -> None:
    """Drop these users' cached Access once the current transaction commits.

    Run after commit so no request can re-cache the old rows, and owed durably in the
    same transaction (apps/core/state/), so a Redis failure delays it but never
    loses it; the failure also raises, so a webhook answers 5xx and Stripe retries.
    Sends `signals.access_changed` in that transaction too (apps/events tells others).
    """
    ids = frozenset(int(uid) for uid in user_ids if uid)
    state.invalidate_after_commit(state.user(uid) for uid in ids)
    if ids:
        signals.access_changed.send(sender=access_invalidate, user_ids=ids)


def customer_ensure(*, user: User) -> Customer:
    """The user's Stripe Customer, created on first use (with an idempotency key)."""
    customer = selectors.customer_for_user(user)
    if customer is not None:
        return customer
    with stripe_api.translated_errors("set up your billing account"):
        customer, _ = Customer.get_or_create(
            subscriber=user, livemode=settings.STRIPE_LIVE_MODE, api_key=stripe_api.api_key()
        )
    return customer


def checkout_start(*, user: User, price_id: str, success_url: str, cancel_url: str) -> str:
    """The URL of a Checkout Session for `price_id`: the customer's open one, or a new one.

    One trial per customer, ever; one open session per customer, so two tabs cannot
    both complete and charge twice.
    """
    price = selectors.price_for_checkout(price_id)
    if price is None:
        raise ApplicationError("That plan is not available any more. Please pick another.")
    if selectors.user_has_live_subscription_to(user, product_id=price.product_id):
        raise ApplicationError(
            f"You already subscribe to {price.product.name}. "
            "Change or cancel it from the billing portal."
        )
    customer = customer_ensure(user=user)
    with transaction.atomic():
        # The customer's row lock: concurrent starts (two tabs) take turns, so the
        # second sees and reuses the session the first created.
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        url = checkout.open_session_url(customer_id=customer.id, price_id=price.id)
        if url:
            return url
        plan = selectors.plan_price(price)
        subscription_data: dict[str, Any] = {"metadata": {"tollgate_user_id": str(user.pk)}}
        if plan and plan.trial_days and not checkout.trial_used(user=user, customer_id=customer.id):
            subscription_data["trial_period_days"] = plan.trial_days
        session = stripe_api.checkout_session_create(
            mode="subscription",
            customer=customer.id,
            client_reference_id=str(user.pk),
            line_items=[{"price": price.id, "quantity": 1}],
            subscription_data=subscription_data,
            metadata={"tollgate_price_id": price.id},
            allow_promotion_codes=True,
            # Stripe fills in the literal {CHECKOUT_SESSION_ID} placeholder.
            success_url=f"{success_url}?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=cancel_url,
        )
    return str(session.url)


@transaction.atomic
def checkout_complete(*, user: User, session_id: str) -> checkout.CheckoutOutcome:
    """Sync a Checkout Session and its subscription now, not when the webhook comes.

    Refuses a session that belongs to someone else. Says where the session stands, so
    the page tells the member the truth (not finished, processing, trial, active).
    """
    session = stripe_api.checkout_session_retrieve(session_id)
    if str(session.get("client_reference_id")) != str(user.pk):
        raise ApplicationError("That checkout session belongs to another account.")
    subscription_data = session.get("subscription")
    subscription = None
    if subscription_data and not isinstance(subscription_data, str):
        subscription = subscription_sync(data=subscription_data)
    with stripe_api.translated_errors("confirm your subscription", nothing_charged=False):
        Session.sync_from_stripe_data(session, api_key=stripe_api.api_key())
    access_invalidate(user_ids=[user.pk])
    return checkout.CheckoutOutcome(
        state=checkout.checkout_state(session, subscription), subscription=subscription
    )


def portal_start(*, user: User, return_url: str) -> str:
    """Create a Customer Portal session and return its URL."""
    customer = selectors.customer_for_user(user)
    if customer is None:
        raise ApplicationError("You have no billing account yet. Pick a plan to subscribe.")
    session = stripe_api.portal_session_create(customer=customer.id, return_url=return_url)
    return str(session.url)


def subscription_sync(*, data: Any) -> Subscription:
    """Store a subscription as Stripe returned it (dj-stripe needs a StripeObject)."""
    if isinstance(data, dict):
        data = stripe.convert_to_stripe_object(data)
    with stripe_api.translated_errors("sync the subscription"):
        subscription: Subscription = Subscription.sync_from_stripe_data(
            data, api_key=stripe_api.api_key()
        )
    return subscription


@transaction.atomic
def subscriptions_refresh(*, user: User) -> int:
    """Re-read all of the user's subscriptions from Stripe; returns how many were synced."""
    customer = selectors.customer_for_user(user)
    if customer is None:
        return 0
    count = 0
    for data in stripe_api.subscriptions_list(customer_id=customer.id):
        subscription_sync(data=data)
        count += 1
    access_invalidate(user_ids=[user.pk])
    return count


def plans_sync(*, progress: Callable[[str], None] = lambda _line: None) -> tuple[int, int]:
    """Sync active Products (with their features) and Prices from Stripe."""
    key = stripe_api.api_key()
    products = prices = 0
    for data in stripe_api.products_list():
        Product.sync_from_stripe_data(data, api_key=key)
        products += 1
        progress(f"product {data['id']} {data.get('name', '')}")
    for data in stripe_api.prices_list():
        Price.sync_from_stripe_data(data, api_key=key)
        prices += 1
        progress(f"price {data['id']} {data.get('lookup_key') or ''}")
    return products, prices


def subscription_refresh(*, subscription_id: str) -> Subscription:
    """Re-read one subscription from Stripe and store its current state."""
    return subscription_sync(data=stripe_api.subscription_retrieve(subscription_id))


def sessions_end_on_cancel(*, user_ids: Iterable[int]) -> None:
    """With BILLING_END_SESSIONS_ON_CANCEL, sign these users out everywhere after commit."""
    if not settings.BILLING_END_SESSIONS_ON_CANCEL:
        return
    from apps.accounts.services import sessions_end_all

    def end() -> None:
        for user in User.objects.filter(pk__in=list(user_ids)):
            sessions_end_all(user=user)

    transaction.on_commit(end)


def trial_ending_notify(*, user_ids: Iterable[int], trial_end: datetime | None) -> None:
    """Tell users their trial ends soon (Stripe sends this event three days before)."""
    when = f" on {trial_end:%B %-d}" if trial_end else " soon"
    billing_url = settings.SITE_URL.rstrip("/") + pages.url("billing")

    def send() -> None:
        for user in User.objects.filter(pk__in=list(user_ids), is_active=True):
            send_mail(
                subject="Your trial ends soon",
                message=(
                    f"Hello {user.get_short_name()},\n\nYour free trial ends{when}. "
                    "If you have a payment method on file, your subscription simply "
                    f"continues. You can review it here: {billing_url}\n"
                ),
                from_email=None,
                recipient_list=[user.email],
                fail_silently=True,
            )

    transaction.on_commit(send)


def webhook_endpoint_ensure(*, base_url: str) -> tuple[WebhookEndpoint, bool]:
    """Create or update dj-stripe's endpoint row from settings; no API call.

    The row's uuid is kept across runs, so the URL registered in Stripe stays valid.
    """
    livemode = settings.STRIPE_LIVE_MODE
    endpoint = selectors.webhook_endpoint(livemode=livemode)
    created = endpoint is None
    if endpoint is None:
        endpoint = WebhookEndpoint(
            id=selectors.webhook_endpoint_id(livemode=livemode), livemode=livemode
        )
    endpoint.secret = settings.STRIPE_WEBHOOK_SECRET
    endpoint.enabled_events = list(WEBHOOK_EVENTS)
    endpoint.api_version = settings.STRIPE_API_VERSION
    endpoint.status = "enabled"
    endpoint.save()  # first save assigns djstripe_uuid, which the URL needs
    path = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid})
    endpoint.url = base_url.rstrip("/") + path
    endpoint.save(update_fields=["url"])
    return endpoint, created


def subscription_mark_missing(*, subscription_id: str) -> None:
    """Record that Stripe answered 404 for this subscription: it grants nothing any more.

    Stripe's "no such subscription" is final (unlike an outage), so the local row, if
    any, is marked canceled rather than left granting until its period ends.
    """
    subscription = Subscription.objects.filter(id=subscription_id).first()
    if subscription is None:
        return
    data = dict(subscription.stripe_data)
    if data.get("status") == "canceled":
        return
    now = int(timezone.now().timestamp())
    data.update(status="canceled", ended_at=data.get("ended_at") or now)
    data["tollgate_missing_in_stripe_since"] = now
    subscription.stripe_data = data
    subscription.save(update_fields=["stripe_data"])


# What the endpoint registered in Stripe must send: exactly what webhooks.py handles.
# Imported last because webhooks.py imports this module.
from .webhooks import HANDLERS  # noqa: E402

WEBHOOK_EVENTS = tuple(HANDLERS)
