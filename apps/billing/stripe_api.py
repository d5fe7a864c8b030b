"""The few Stripe API calls Tollgate makes itself (dj-stripe makes the rest).

Every call passes the configured key and pinned API version explicitly, sets an
idempotency key on creates, and turns Stripe's errors into one ApplicationError with
a message the user can act on.
"""

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import stripe
from django.conf import settings
from djstripe.settings import djstripe_settings

from apps.core.errors import ApplicationError

logger = logging.getLogger(__name__)


class StripeUnavailableError(ApplicationError):
    """Stripe could not be reached or refused the call; nothing was changed on our side."""


class StripeObjectMissingError(ApplicationError):
    """Stripe answered 404 `resource_missing`: the object is gone, retrying won't help."""


def api_key() -> str:
    key = djstripe_settings.get_default_api_key(livemode=settings.STRIPE_LIVE_MODE)
    if not key:
        variable = (
            "STRIPE_LIVE_SECRET_KEY" if settings.STRIPE_LIVE_MODE else "STRIPE_TEST_SECRET_KEY"
        )
        raise StripeUnavailableError(f"Payments are not set up yet ({variable} is not set).")
    return str(key)


def call_options(*, create: bool = False, idempotency_key: str | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {"api_key": api_key(), "stripe_version": settings.STRIPE_API_VERSION}
    if create or idempotency_key:
        options["idempotency_key"] = idempotency_key or str(uuid.uuid4())
    return options


@contextmanager
def translated_errors(action: str, *, nothing_charged: bool = True) -> Iterator[None]:
    """Turn any Stripe failure during `action` into a StripeUnavailableError.

    `nothing_charged=False` where the customer may already have paid (after Checkout).
    """
    try:
        yield
    except stripe.InvalidRequestError as exc:
        if exc.code != "resource_missing":
            _raise_unavailable(action, exc, nothing_charged=nothing_charged)
        logger.warning("Stripe has no such object (while trying to %s)", action)
        raise StripeObjectMissingError(
            f"Our payment provider no longer has what we needed to {action}."
        ) from exc
    except stripe.StripeError as exc:
        _raise_unavailable(action, exc, nothing_charged=nothing_charged)


def _raise_unavailable(action: str, exc: stripe.StripeError, *, nothing_charged: bool) -> NoReturn:
    logger.warning("Stripe call failed while trying to %s: %s", action, type(exc).__name__)
    reassurance = " Nothing was charged." if nothing_charged else ""
    raise StripeUnavailableError(
        f"We couldn't reach our payment provider to {action}.{reassurance} "
        "Please try again in a moment."
    ) from exc


def checkout_session_create(**params: Any) -> Any:
    with translated_errors("start checkout"):
        return stripe.checkout.Session.create(**params, **call_options(create=True))


def checkout_session_retrieve(session_id: str) -> Any:
    with translated_errors("confirm your subscription", nothing_charged=False):
        return stripe.checkout.Session.retrieve(
            session_id, expand=["subscription"], **call_options()
        )


def checkout_sessions_open(*, customer_id: str) -> list[Any]:
    with translated_errors("start checkout"):
        listing = stripe.checkout.Session.list(
            customer=customer_id, status="open", **call_options()
        )
        return list(listing.auto_paging_iter())


def checkout_session_expire(session_id: str) -> Any:
    with translated_errors("start checkout"):
        return stripe.checkout.Session.expire(session_id, **call_options())


def portal_session_create(**params: Any) -> Any:
    with translated_errors("open the billing portal"):
        return stripe.billing_portal.Session.create(**params, **call_options(create=True))


def subscription_retrieve(subscription_id: str) -> Any:
    with translated_errors("refresh the subscription"):
        return stripe.Subscription.retrieve(subscription_id, **call_options())


def subscription_cancel(subscription_id: str, *, idempotency_key: str) -> Any:
    """Cancel now; a fixed idempotency key makes a retried webhook repeat nothing."""
    with translated_errors("cancel a duplicate subscription"):
        return stripe.Subscription.cancel(
            subscription_id, **call_options(idempotency_key=idempotency_key)
        )


def invoice_payments_paid(*, invoice_id: str) -> Iterator[Any]:
    with translated_errors("list an invoice's payments"):
        listing = stripe.InvoicePayment.list(invoice=invoice_id, status="paid", **call_options())
        yield from listing.auto_paging_iter()


def refund_create(*, payment_intent: str, idempotency_key: str, **params: Any) -> Any:
    with translated_errors("refund a duplicate payment"):
        return stripe.Refund.create(
            payment_intent=payment_intent, **params, **call_options(idempotency_key=idempotency_key)
        )


def subscriptions_list(*, customer_id: str) -> Iterator[Any]:
    with translated_errors("list subscriptions"):
        listing = stripe.Subscription.list(customer=customer_id, status="all", **call_options())
        yield from listing.auto_paging_iter()


def products_list() -> Iterator[Any]:
    with translated_errors("list products"):
        yield from stripe.Product.list(active=True, **call_options()).auto_paging_iter()


def prices_list() -> Iterator[Any]:
    with translated_errors("list prices"):
        listing = stripe.Price.list(active=True, **call_options())
        yield from listing.auto_paging_iter()


def undelivered_events(*, since: Any) -> Iterator[Any]:
    """Events whose webhook delivery has not succeeded, oldest first."""
    with translated_errors("list undelivered events"):
        listing = stripe.Event.list(
            delivery_success=False, created={"gte": int(since.timestamp())}, **call_options()
        )
        yield from reversed(list(listing.auto_paging_iter()))
