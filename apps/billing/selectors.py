"""Reads for billing: who is whose customer, their subscriptions, the plan catalog.

Everything here reads Postgres only (dj-stripe's rows); no call reaches Stripe.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from djstripe.models import (
    Customer,
    Feature,
    Invoice,
    Price,
    Product,
    Subscription,
    WebhookEndpoint,
)

from apps.accounts.models import User

from .access.rules import STRIPE_LIVE, plan_key, still_subscribed


def customer_for_user(user: User) -> Customer | None:
    return (
        Customer.objects.filter(
            subscriber=user, livemode=settings.STRIPE_LIVE_MODE, date_purged__isnull=True
        )
        .order_by("-djstripe_created")
        .first()
    )


def user_ids_for_customer(customer_id: str) -> set[int]:
    """The users linked to a Stripe customer id (a purged customer has none)."""
    linked = Customer.objects.filter(id=customer_id, subscriber__isnull=False)
    return set(linked.values_list("subscriber_id", flat=True))


def user_ids_subscribed_to(
    *, product_id: str | None = None, price_id: str | None = None
) -> set[int]:
    """Users with a live subscription that has an item of this product (or price).

    Read from each subscription's stored Stripe data, not the item rows, which
    dj-stripe deletes along with a deleted product or price.
    """
    price: dict[str, str | None] = {"product": product_id} if product_id else {"id": price_id}
    subscriptions = Subscription.objects.filter(
        stripe_data__contains={"items": {"data": [{"price": price}]}},
        stripe_data__status__in=sorted(STRIPE_LIVE),
        customer__subscriber__isnull=False,
    )
    return set(subscriptions.values_list("customer__subscriber_id", flat=True))


def subscriptions_for_user(user_id: int) -> QuerySet[Subscription]:
    """The user's subscriptions with items, prices, products and features prefetched."""
    return (
        Subscription.objects.filter(
            customer__subscriber_id=user_id,
            customer__livemode=settings.STRIPE_LIVE_MODE,
            customer__date_purged__isnull=True,
        )
        .prefetch_related("items__price__product__features__entitlement_feature")
        .order_by("-created")
    )


def user_has_live_subscription_to(user: User, *, product_id: str) -> bool:
    """Does the user still hold a subscription to this product (so a second checkout
    would double-bill)? One that ran out at its scheduled cancellation does not count."""
    # Imported here: facts reads subscriptions through this module.
    from .access.facts import subscription_facts

    now = timezone.now()
    return any(
        any(item.price.product_id == product_id for item in sub.items.all())
        and still_subscribed(subscription_facts(sub), now=now)
        for sub in subscriptions_for_user(user.pk)
    )


def product_plan_key(product: Product) -> str:
    return plan_key(product_id=product.id, metadata=product.metadata)


def plan_name(key: str) -> str:
    """The product name of a plan key (`Access.plan`); the key itself if no product has it."""
    candidates = Product.objects.filter(
        Q(metadata__plan=key) | Q(id=key), livemode=settings.STRIPE_LIVE_MODE
    ).order_by("-active", "id")
    return next((p.name for p in candidates if product_plan_key(p) == key), key)


def subscription_product(subscription: Subscription) -> Product | None:
    """The product of the subscription's first item (what it was bought for)."""
    item = subscription.items.select_related("price__product").order_by("created").first()
    return item.price.product if item is not None and item.price is not None else None


def feature_names(keys: frozenset[str]) -> list[str]:
    """Feature display names for lookup keys, sorted; a key without a Feature row is titled."""
    found = Feature.objects.filter(stripe_data__lookup_key__in=keys)
    names = {feature.lookup_key: feature.name for feature in found}
    return sorted(names.get(key) or key.replace("_", " ").capitalize() for key in keys)


def invoices_for_user(user: User, *, limit: int = 24) -> QuerySet[Invoice]:
    return Invoice.objects.filter(customer__subscriber=user).order_by("-created")[:limit]


@dataclass(frozen=True)
class PlanPrice:
    id: str
    lookup_key: str | None
    interval: str  # "month" or "year"
    amount: int  # in the currency's smallest unit
    currency: str
    trial_days: int | None


@dataclass(frozen=True)
class Plan:
    product_id: str
    key: str  # plan_key() of the product: what Access.plan holds
    name: str
    description: str
    order: int
    highlight: bool
    is_free: bool
    features: list[str] = field(default_factory=list)
    prices: dict[str, PlanPrice] = field(default_factory=dict)

    def is_current(self, access_plan: str | None) -> bool:
        """Is this the plan an Access's `plan` names (the free tier when nothing grants)?"""
        return self.is_free if access_plan is None else access_plan == self.key


def plan_price(price: Price) -> PlanPrice | None:
    recurring = price.stripe_data.get("recurring") or {}
    interval = recurring.get("interval")
    if interval not in ("month", "year"):
        return None
    return PlanPrice(
        id=price.id,
        lookup_key=price.lookup_key,
        interval=interval,
        amount=int(price.stripe_data.get("unit_amount") or 0),
        currency=price.currency,
        trial_days=recurring.get("trial_period_days")
        or _int_or_none((price.metadata or {}).get("trial_days")),
    )


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _is_sellable(price: Price) -> bool:
    """Only prices marked `sellable=true` in their Stripe metadata may be sold: an active
    price alone may be a legacy, hidden or regional one that must not be offered."""
    return str((price.metadata or {}).get("sellable", "")).lower() == "true"


def _default_price_id(product: Product) -> str | None:
    default = product.stripe_data.get("default_price")
    return default.get("id") if isinstance(default, dict) else default


def _created(price: Price) -> int:
    return int(price.stripe_data.get("created") or 0)


def _offered_prices(product: Product) -> dict[str, PlanPrice]:
    """One sellable price per interval: the product's default price when it is one,
    else the newest (then the highest id), so the choice never depends on query order."""
    default_id = _default_price_id(product)
    candidates = sorted(
        (price for price in product.prices.all() if _is_sellable(price)),
        key=lambda price: (price.id == default_id, _created(price), price.id),
    )
    offered: dict[str, PlanPrice] = {}
    for price in candidates:  # ascending, so the preferred price is written last
        plan = plan_price(price)
        if plan is not None:
            offered[plan.interval] = plan
    return offered


def _display_order(metadata: dict[str, object]) -> int:
    order = _int_or_none(metadata.get("order"))
    return 100 if order is None else order  # `or 100` would send order 0 to the end


def plans_for_pricing(*, using: str = DEFAULT_DB_ALIAS) -> list[Plan]:
    """Active products with their offered monthly/yearly prices, in display order.

    Order, highlight and the free tier come from product metadata (`order`,
    `highlight`, `tier=free`); bullets from the product's Stripe features. A paid
    product without a sellable price is left out. `using`: the pricing page reads a
    standby when there is one (a catalog a moment old is harmless); checkout
    keeps the primary, so what can be bought is never decided by a lagging copy.
    """
    prices = Price.objects.using(using).filter(active=True, livemode=settings.STRIPE_LIVE_MODE)
    products = (
        Product.objects.using(using)
        .filter(active=True, livemode=settings.STRIPE_LIVE_MODE)
        .prefetch_related(Prefetch("prices", queryset=prices), "features__entitlement_feature")
    )
    plans = []
    for product in products:
        metadata = product.metadata or {}
        offered = _offered_prices(product)
        is_free = metadata.get("tier") == "free"
        if not offered and not is_free:
            continue
        plans.append(
            Plan(
                product_id=product.id,
                key=product_plan_key(product),
                name=product.name,
                description=product.stripe_data.get("description") or "",
                order=_display_order(metadata),
                highlight=str(metadata.get("highlight", "")).lower() == "true",
                is_free=is_free,
                features=[f.entitlement_feature.name for f in product.features.all()],
                prices=offered,
            )
        )
    return sorted(plans, key=lambda plan: (plan.order, plan.name))


def price_for_checkout(price_id: str) -> Price | None:
    """The price if the pricing page offers it; any other price, even an active one,
    cannot be bought (a forged form cannot pick a legacy or hidden price)."""
    offered = {
        price.id
        for plan in plans_for_pricing()
        if not plan.is_free
        for price in plan.prices.values()
    }
    if price_id not in offered:
        return None
    return Price.objects.filter(id=price_id).select_related("product").first()


def webhook_endpoint_id(*, livemode: bool) -> str:
    """The id of the endpoint row `billing_setup` keeps for this mode."""
    return f"we_tollgate_{'live' if livemode else 'test'}"


def webhook_endpoint(*, livemode: bool) -> WebhookEndpoint | None:
    """The endpoint row `billing_setup` stored for this mode, or None before it ran."""
    return WebhookEndpoint.objects.filter(id=webhook_endpoint_id(livemode=livemode)).first()
